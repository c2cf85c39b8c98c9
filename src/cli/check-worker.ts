/** Worker thread of `check` over several streams: checks the streams it is sent, one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { checkOne, type CheckJob, type FromWorker, type ToWorker } from './batch.js';
import { failureOf } from '../report/batch.js';

const job = workerData as CheckJob;

parentPort!.on('message', async (m: ToWorker) => {
  let result: FromWorker['result'];
  try {
    result = await checkOne(m.stream, job);
  } catch (e) {
    result = failureOf(m.stream, e);
  }
  parentPort!.postMessage({ index: m.index, result } satisfies FromWorker);
});
