/**
 * The activity log of `tunnel emulator`: one line per API call and per session event, so a user
 * pointing the AWS CLI, the official plugin or `tunnel` at the emulator sees what happened
 * (calls, attaches, resumes, faults, dials, channel_closed). Plain lines on stderr, or NDJSON on
 * stdout with `--json`. Request bodies are not printed: only the operation and its target or session.
 */
import type { Emulator } from '../../emulator/index.js';
import type { ApiCall } from '../../emulator/state.js';

export type LogSink = (event: string, fields: Record<string, unknown>, line: string) => void;

function subjectOf(call: ApiCall): string {
  const r = call.request;
  if (typeof r !== 'object' || r === null) return '';
  const body = r as Record<string, unknown>;
  for (const k of ['Target', 'SessionId', 'KeyId']) {
    const v = body[k];
    if (typeof v === 'string') return v;
  }
  return '';
}

/** Subscribes to the emulator's events; returns the unsubscribe function. */
export function attachActivityLog(emu: Emulator, sink: LogSink): () => void {
  const offs: Array<() => void> = [];
  const on = <A extends unknown[]>(
    emitter: { on(e: string, f: (...a: A) => void): unknown; off(e: string, f: (...a: A) => void): unknown },
    name: string,
    f: (...a: A) => void,
  ): void => {
    emitter.on(name, f);
    offs.push(() => emitter.off(name, f));
  };
  on(emu.state, 'api-call', (call: ApiCall) => {
    const subject = subjectOf(call);
    const outcome = call.errorCode ?? 'ok';
    sink(
      'api-call',
      { operation: call.operation, subject, outcome },
      `api ${call.operation}${subject === '' ? '' : ` ${subject}`} → ${outcome}`,
    );
  });
  const events = emu.events;
  on(events, 'client-attached', (e: { sessionId: string; clientVersion: string | undefined; attachCount: number }) =>
    sink(
      'client-attached',
      e,
      `${e.sessionId} client attached (ClientVersion ${e.clientVersion ?? '?'})${e.attachCount > 1 ? `, re-attach #${e.attachCount - 1}` : ''}`,
    ),
  );
  on(events, 'client-detached', (e: { sessionId: string; reason: string }) =>
    sink('client-detached', e, `${e.sessionId} client detached (${e.reason})`),
  );
  on(events, 'handshake-complete', (e: { sessionId: string; mode: string; keepAlive: boolean }) =>
    sink(
      'handshake-complete',
      e,
      `${e.sessionId} handshake complete: ${e.mode}${e.mode === 'mux' ? `, smux keep-alive ${e.keepAlive ? 'on' : 'off'}` : ''}`,
    ),
  );
  on(
    events,
    'dial',
    (e: { sessionId: string; target: { host: string; port: number } | undefined; ok: boolean; error?: string }) => {
      const where = e.target === undefined ? '?' : `${e.target.host}:${e.target.port}`;
      sink(
        'dial',
        { sessionId: e.sessionId, target: where, ok: e.ok, ...(e.error === undefined ? {} : { error: e.error }) },
        `${e.sessionId} dial ${where} ${e.ok ? 'ok' : `failed: ${e.error ?? ''}`}`,
      );
    },
  );
  on(events, 'fault', (e: { sessionId: string; kind: string; dir?: string }) =>
    sink('fault', e, `${e.sessionId} fault: ${e.kind}${e.dir === undefined ? '' : ` (${e.dir})`}`),
  );
  on(events, 'channel-closed', (e: { sessionId: string; output: string; delivered: boolean }) =>
    sink(
      'channel-closed',
      e,
      `${e.sessionId} channel_closed${e.output === '' ? '' : `: ${e.output}`}${e.delivered ? '' : ' (no client attached)'}`,
    ),
  );
  on(events, 'bad-token', (e: Error) => sink('bad-token', { message: e.message }, `refused a websocket: ${e.message}`));
  return () => {
    for (const off of offs) off();
  };
}
