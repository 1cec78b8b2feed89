/**
 * Built-in copies of the AWS-managed Session Manager documents for port sessions, and the
 * service-side parameter handling StartSession applies before the agent sees anything: every
 * supplied name must exist, each `String` parameter takes exactly one value matching its
 * `allowedPattern`, missing ones take their default, and a parameter without a default is
 * required. The substituted `properties` are what the agent's HandshakeRequest carries.
 *
 * Source: the published document contents of AWS-StartPortForwardingSession,
 * AWS-StartPortForwardingSessionToRemoteHost and AWS-StartSSHSession (schemaVersion 1.0,
 * sessionType Port), as described in docs/protocol.md §W12.
 */

export interface DocumentParameter {
  type: 'String';
  description: string;
  /** Absent = required. */
  default?: string;
  allowedPattern?: string;
}

export interface SessionDocument {
  name: string;
  schemaVersion: '1.0';
  description: string;
  sessionType: 'Port';
  parameters: Record<string, DocumentParameter>;
  /** Values may hold `{{ name }}` placeholders. */
  properties: Record<string, string>;
}

/** 1..65535 */
const PORT_PATTERN = '^([1-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$';
/** 0..65535 (0 = the client picks a free local port) */
const LOCAL_PORT_PATTERN =
  '^([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$';
/** At least 3 characters, none of the shell metacharacters. */
const HOST_PATTERN = '^[^,$^&\\(\\)!;\'"<>\\`{}\\[\\]\\|#=]{3,}$';

const PORT_NUMBER: DocumentParameter = {
  type: 'String',
  description: '(Optional) Port number of the server on the instance',
  allowedPattern: PORT_PATTERN,
  default: '80',
};
const LOCAL_PORT_NUMBER: DocumentParameter = {
  type: 'String',
  description:
    '(Optional) Port number on local machine to forward traffic to. An open port is chosen at run-time if not provided',
  allowedPattern: LOCAL_PORT_PATTERN,
  default: '0',
};

export const PORT_DOCUMENTS: ReadonlyMap<string, SessionDocument> = new Map<string, SessionDocument>([
  [
    'AWS-StartPortForwardingSession',
    {
      name: 'AWS-StartPortForwardingSession',
      schemaVersion: '1.0',
      description: 'Document to start port forwarding session over Session Manager',
      sessionType: 'Port',
      parameters: { portNumber: PORT_NUMBER, localPortNumber: LOCAL_PORT_NUMBER },
      properties: {
        portNumber: '{{ portNumber }}',
        type: 'LocalPortForwarding',
        localPortNumber: '{{ localPortNumber }}',
      },
    },
  ],
  [
    'AWS-StartPortForwardingSessionToRemoteHost',
    {
      name: 'AWS-StartPortForwardingSessionToRemoteHost',
      schemaVersion: '1.0',
      description: 'Document to start port forwarding session over Session Manager to a remote host',
      sessionType: 'Port',
      parameters: {
        host: {
          type: 'String',
          description: '(Required) The IP address or DNS name of the remote host server',
          allowedPattern: HOST_PATTERN,
        },
        portNumber: PORT_NUMBER,
        localPortNumber: LOCAL_PORT_NUMBER,
      },
      properties: {
        portNumber: '{{ portNumber }}',
        type: 'LocalPortForwarding',
        host: '{{ host }}',
        localPortNumber: '{{ localPortNumber }}',
      },
    },
  ],
  [
    'AWS-StartSSHSession',
    {
      name: 'AWS-StartSSHSession',
      schemaVersion: '1.0',
      description: 'Document to start SSH session over Session Manager',
      sessionType: 'Port',
      parameters: {
        portNumber: {
          type: 'String',
          description: '(Optional) Port number of SSH server on the instance',
          allowedPattern: PORT_PATTERN,
          default: '22',
        },
      },
      // No `type`: the agent then uses stream (stdio) semantics.
      properties: { portNumber: '{{ portNumber }}' },
    },
  ],
]);

/** The document StartSession uses when DocumentName is omitted (a shell session). */
export const DEFAULT_SESSION_DOCUMENT = 'SSM-SessionManagerRunShell';

/** A request the service refuses, as an AWS error code and message. */
export interface DocumentFailure {
  code: 'InvalidDocument' | 'InvalidParameters';
  message: string;
}

export interface ResolvedDocumentParameters {
  /** Every document parameter with its value (defaults applied), as single-element lists. */
  parameters: Record<string, string[]>;
  /** `properties` with `{{ name }}` replaced; keys sorted as Go marshals the agent's map. */
  properties: Record<string, string>;
}

/** Look a document up; undefined for unknown names (the caller answers InvalidDocument). */
export function findPortDocument(name: string): SessionDocument | undefined {
  return PORT_DOCUMENTS.get(name);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Check StartSession's `Parameters` (a map of name → list of strings) against `doc`, fill
 * defaults and substitute into `properties`. Returns a `DocumentFailure` for the first problem.
 */
export function resolveDocumentParameters(
  doc: SessionDocument,
  supplied: unknown,
): ResolvedDocumentParameters | DocumentFailure {
  if (supplied !== undefined && supplied !== null && !isRecord(supplied)) {
    return { code: 'InvalidParameters', message: 'Parameters must be a map of parameter names to lists of values.' };
  }
  const given = supplied ?? {};
  for (const name of Object.keys(given)) {
    if (!(name in doc.parameters)) {
      return { code: 'InvalidParameters', message: `Parameter "${name}" is not defined in document ${doc.name}.` };
    }
  }
  const values: Record<string, string> = {};
  for (const [name, def] of Object.entries(doc.parameters)) {
    const raw = given[name];
    let value: string;
    if (raw === undefined || raw === null) {
      if (def.default === undefined)
        return {
          code: 'InvalidParameters',
          message: `Parameter "${name}" is required by document ${doc.name} but was not supplied.`,
        };
      value = def.default;
    } else {
      if (!Array.isArray(raw) || raw.some((v) => typeof v !== 'string')) {
        return { code: 'InvalidParameters', message: `Parameter "${name}" must be a list of strings.` };
      }
      // A `String` parameter holds exactly one value.
      if (raw.length !== 1)
        return {
          code: 'InvalidParameters',
          message: `Parameter "${name}" of type String must have exactly one value, got ${raw.length}.`,
        };
      value = raw[0] as string;
    }
    if (def.allowedPattern !== undefined && !new RegExp(def.allowedPattern).test(value)) {
      return {
        code: 'InvalidParameters',
        message: `Parameter "${name}" "${value}" does not match the allowed pattern ${def.allowedPattern}.`,
      };
    }
    values[name] = value;
  }
  const properties: Record<string, string> = {};
  for (const key of Object.keys(doc.properties).sort()) {
    const template = doc.properties[key] ?? '';
    properties[key] = template.replace(
      /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g,
      (whole, name: string) => values[name] ?? whole,
    );
  }
  const parameters: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(values)) parameters[name] = [value];
  return { parameters, properties };
}
