// An outbound call answered by a machine: once Twilio's async answering-machine detection says so (the greeting has
// ended, with DetectMessageEnd), the agent leaves the configured voicemail line and hangs up after it was heard (or
// hangs up at once without a line). A human, a fax or "unknown" leaves the call as it is. The verdict arrives on
// whichever edge thread took the webhook: the command is routed to the thread that owns the call.
import type { CallCommand, CommandResult } from '../call/events.js';
import type { Config } from '../config.js';
import { LogEvent, log } from '../observability/log.js';
import { isMachineAnswer, type MachineDetectionResult } from './machine-detection.js';

export function voicemailOnMachine(
  config: Pick<Config, 'agent'>,
  routeCommand: (callSid: string, command: CallCommand) => Promise<CommandResult>,
): (result: MachineDetectionResult) => void {
  return (result) => {
    if (!isMachineAnswer(result.answeredBy)) return;
    const line = config.agent.voicemailLine;
    const command: CallCommand = { kind: 'hang-up', reason: 'voicemail', ...(line !== undefined ? { goodbye: line } : {}) };
    void routeCommand(result.callSid, command).then((outcome) => {
      log.info({ event: LogEvent.CALL_COMMAND, callSid: result.callSid, command: 'voicemail', answeredBy: result.answeredBy, ok: outcome.ok }, 'answering machine: voicemail line, then hang-up');
    });
  };
}
