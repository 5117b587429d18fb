import { parentPort } from 'node:worker_threads';
import { runBatch, type BatchRequest } from './parallel';

/** A fuzz worker thread: runs the batches of seeds it is sent and replies with each batch's summary. */
if (!parentPort) throw new Error('lib/fuzz/worker.ts runs as a worker thread (see fuzzParallel)');
const port = parentPort;
port.on('message', (request: BatchRequest) => port.postMessage(runBatch(request)));
