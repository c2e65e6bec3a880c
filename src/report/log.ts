// --log-format json: each line graceful writes as one JSON object on one line of stderr, for
// a log pipeline (Loki, Elasticsearch, CloudWatch, jq). Rendered from the same LogLine the
// human line is (report/human.ts): the figures are the facts', never read back from the
// English, which is kept whole in `msg`.
import type { LogLine } from './human.js';
export type { LogFormat } from '../config/options.js';

// One line of the JSON log: when graceful wrote it (ISO 8601, UTC, milliseconds), its level,
// its event, the program it is about (null: graceful itself, or the whole stack), the line's
// figures, and the human line last.
export function jsonLine(line: LogLine, program: string | null, timeMs: number): string {
  return `${JSON.stringify({ time: new Date(timeMs).toISOString(), level: line.level, event: line.event, program, ...line.fields, msg: line.text })}\n`;
}
