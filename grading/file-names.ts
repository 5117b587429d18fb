/** A file name for a student id: only letters, digits, '.', '_' and '-'; never a path. */
export function safeFileName(id: string): string {
  const s = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return s === '' ? '_' : s.slice(0, 120);
}
