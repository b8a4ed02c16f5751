// Types for the bench peers that ship none.

declare module '@echogarden/fvad-wasm' {
  /** The Emscripten module of libfvad (WebRTC VAD): C functions on pointers into HEAP16. */
  export interface FvadModule {
    _fvad_new(): number;
    _fvad_free(instance: number): void;
    _fvad_reset(instance: number): void;
    /** 0..3; returns 0 on success. */
    _fvad_set_mode(instance: number, mode: number): number;
    /** 8000, 16000, 32000 or 48000; returns 0 on success. */
    _fvad_set_sample_rate(instance: number, sampleRateHz: number): number;
    /** 10, 20 or 30 ms of int16 samples at `framePtr`; 1 = speech, 0 = not, -1 = error. */
    _fvad_process(instance: number, framePtr: number, length: number): number;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    readonly HEAP16: Int16Array;
  }
  export default function fvad(moduleArg?: object): Promise<FvadModule>;
}
