// A DSP pool worker that is stuck, for tests of the pool's deadline and queue bound (DspPoolOptions.workerFilename):
// utteranceToWav16k and pcmToMulawFrames never answer within a test (a wedged thread), except pcmToMulawFrames of no
// samples, which answers at once with no frames, so that a test can wait until the thread is up before it fills the
// queue.
const STALL_MS = 60_000;

const stall = () => new Promise((resolve) => setTimeout(() => resolve(new Uint8Array(0)), STALL_MS));

export function utteranceToWav16k() {
  return stall();
}

export function pcmToMulawFrames(task) {
  return task.pcm.length === 0 ? new Uint8Array(0) : stall();
}
