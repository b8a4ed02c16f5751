// GET /api/calls/{callSid}/recording.wav: a call's recording (src/recording/) streamed from disk in chunks, with
// uWS backpressure (tryEnd; when the socket is full, onWritable resumes from the offset it reached), so an hour-long
// file costs one chunk of memory, and an aborted download closes the file. The header is written from the file's
// length, never read from the file: a recording still being written is served as far as it is at the request, and one
// a crash left with zero sizes is served with the right ones.
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorKind, LogEvent, log } from '../observability/log.js';
import { recordingDataBytes, recordingFileName, recordingWavHeader, WAV_HEADER_BYTES } from '../recording/wav-file.js';
import type { HttpResponse } from './uws.js';

/** Bytes read from the file per chunk. */
export const RECORDING_CHUNK_BYTES = 64 * 1024;

export type RecordingDownloadResult = { kind: 'served' } | { kind: 'missing' } | { kind: 'aborted' };

/**
 * Streams `callSid`'s recording (callSid already checked) from `dir`, or resolves `missing` without answering (no
 * file, or one too short to hold its header) so that the caller can say why. `state.isAborted` is set by the
 * caller's onAborted (registered before this runs).
 */
export async function serveRecording(
  res: HttpResponse, dir: string, callSid: string, state: { isAborted: boolean; onAbort?: () => void },
): Promise<RecordingDownloadResult> {
  let handle: FileHandle;
  try {
    handle = await open(join(dir, recordingFileName(callSid)), 'r');
  } catch (error) {
    // no file, or no folder (ENOTDIR: something else is where the folder should be)
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    throw error;
  }
  let isClosed = false;
  const close = (): void => {
    if (isClosed) return;
    isClosed = true;
    void handle.close().catch(() => undefined);
  };
  state.onAbort = close;
  try {
    const { size } = await handle.stat();
    if (size < WAV_HEADER_BYTES) {
      close();
      return { kind: 'missing' };
    }
    if (state.isAborted) {
      close();
      return { kind: 'aborted' };
    }
    const dataBytes = recordingDataBytes(size);
    const totalBytes = WAV_HEADER_BYTES + dataBytes;
    await pipeFile(res, handle, dataBytes, totalBytes, state);
    return { kind: state.isAborted ? 'aborted' : 'served' };
  } finally {
    close();
  }
}

/** Sends the header and the data chunk by chunk; resolves when all of it went out or the request was aborted. */
function pipeFile(res: HttpResponse, handle: FileHandle, dataBytes: number, totalBytes: number, state: { isAborted: boolean }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let filePosition = WAV_HEADER_BYTES;
    const fileEnd = WAV_HEADER_BYTES + dataBytes;
    let isFirst = true;
    /** What the socket did not take yet, and the response offset its first byte is at. */
    let pending: Uint8Array | null = null;
    let pendingOffset = 0;
    let isDone = false;
    const finish = (): void => {
      if (isDone) return;
      isDone = true;
      resolve();
    };
    /** Offers `chunk` (starting at the response's current offset); true when the socket took it all. */
    const offer = (chunk: Uint8Array): boolean => {
      let isTaken = false;
      res.cork(() => {
        if (isFirst) {
          isFirst = false;
          res.writeStatus('200 OK');
          res.writeHeader('Content-Type', 'audio/wav');
          res.writeHeader('Cache-Control', 'no-store');
        }
        const offset = res.getWriteOffset();
        const [ok, done] = res.tryEnd(chunk, totalBytes);
        if (done) {
          finish();
          isTaken = true;
        } else if (ok) {
          isTaken = true;
        } else {
          pending = chunk;
          pendingOffset = offset;
        }
      });
      return isTaken;
    };
    const readNext = (): void => {
      if (state.isAborted || isDone) {
        finish();
        return;
      }
      const length = Math.min(RECORDING_CHUNK_BYTES, fileEnd - filePosition);
      const header = isFirst ? recordingWavHeader(dataBytes) : null;
      const buffer = Buffer.allocUnsafe((header?.length ?? 0) + length);
      if (header !== null) header.copy(buffer, 0);
      const start = header?.length ?? 0;
      const read = length === 0 ? Promise.resolve({ bytesRead: 0 }) : handle.read(buffer, start, length, filePosition);
      read.then(({ bytesRead }) => {
        if (state.isAborted) {
          finish();
          return;
        }
        if (bytesRead < length) {
          // the file shrank under us (deleted and replaced): end the response rather than hang
          res.close();
          finish();
          return;
        }
        filePosition += bytesRead;
        if (offer(buffer.subarray(0, start + bytesRead))) {
          if (!isDone) readNext();
        }
        // else: onWritable resumes
      }, (error: unknown) => {
        // an abort closes the file under a read in flight: that is not a failure
        if (state.isAborted) {
          finish();
          return;
        }
        res.close();
        isDone = true;
        reject(error);
      });
    };
    res.onWritable((offset) => {
      const chunk = pending;
      if (chunk === null) return true;
      const rest = chunk.subarray(offset - pendingOffset);
      const [ok, done] = res.tryEnd(rest, totalBytes);
      if (done) {
        pending = null;
        finish();
        return true;
      }
      if (ok) {
        pending = null;
        readNext();
      }
      return ok;
    });
    readNext();
  }).catch((error: unknown) => {
    log.error({ event: LogEvent.RECORDING_WRITE_FAILED, errKind: ErrorKind.DISK, err: error }, 'a recording could not be read');
  });
}
