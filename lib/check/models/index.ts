/** The built-in models by name: how the CLI and the worker threads find a model. */
import type { Model } from '../linearizability/model';
import { kvModel } from './kv';
import { registerModel } from './register';
import { setModel } from './set';

export { kvModel, registerModel, setModel };
export type ModelName = 'kv' | 'register' | 'set';
export const MODEL_NAMES: readonly ModelName[] = ['kv', 'register', 'set'];

export interface ModelSpec {
  readonly name: ModelName;
  /** kv only: what a key nobody wrote reads as (null, or '' for Porcupine's and Jepsen's kv histories). */
  readonly initial?: string | null;
}

export function modelFromSpec(spec: ModelSpec): Model<any, any, any> {
  switch (spec.name) {
    case 'kv':
      return kvModel(spec.initial === undefined ? {} : { initial: spec.initial });
    case 'register':
      return registerModel();
    case 'set':
      return setModel();
    default:
      throw new RangeError(`unknown model ${JSON.stringify((spec as { name: unknown }).name)} (expected ${MODEL_NAMES.join(', ')})`);
  }
}
