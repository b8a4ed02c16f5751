// Twilio's answering-machine detection verdicts (AnsweredBy in the async AMD callback), as a closed type. With
// MachineDetection=DetectMessageEnd a machine's verdict comes once its greeting has ended (machine_end_beep,
// machine_end_silence, machine_end_other), which is when a voicemail line can be left; `Enable` would give
// machine_start at once instead. fax and unknown are verdicts too.
export const ANSWERED_BY_VALUES = [
  'human', 'machine_start', 'machine_end_beep', 'machine_end_silence', 'machine_end_other', 'fax', 'unknown',
] as const;
export type AnsweredBy = (typeof ANSWERED_BY_VALUES)[number];

const ANSWERED_BY: ReadonlySet<string> = new Set(ANSWERED_BY_VALUES);

/** The AnsweredBy field as our type; undefined when it is missing or not one Twilio documents. */
export function parseAnsweredBy(value: string | undefined): AnsweredBy | undefined {
  return value !== undefined && ANSWERED_BY.has(value) ? (value as AnsweredBy) : undefined;
}

/** A machine answered (an answering machine or voicemail; not a fax, a human or unknown). */
export function isMachineAnswer(answeredBy: AnsweredBy): boolean {
  return answeredBy.startsWith('machine_');
}

/** The verdict as the webhook hands it on (after its 204 has gone). */
export interface MachineDetectionResult {
  callSid: string;
  answeredBy: AnsweredBy;
  /** Twilio's MachineDetectionDuration: how long detection took, in ms. */
  machineDetectionDurationMs: number | undefined;
}
