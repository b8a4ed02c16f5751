// The call engine as the edge's session module: every edge thread loads this module (src/main.ts) and calls its
// createSessionFactory({ config, threadIndex }), which loads the configured agent (the echo agent, or the AI pipeline
// with its provider SDKs, imported only then) and builds the thread's registry, clock and batched DSP.
export { createEngineSessionFactory as createSessionFactory } from './registry.js';
