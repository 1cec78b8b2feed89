import t from 'tap';
import { PORT_DOCUMENTS, findPortDocument, resolveDocumentParameters } from '../../../src/emulator/documents.js';

const pf = findPortDocument('AWS-StartPortForwardingSession');
const rh = findPortDocument('AWS-StartPortForwardingSessionToRemoteHost');

t.test('the built-in documents are Port documents with the AWS parameters', async (t) => {
  t.same([...PORT_DOCUMENTS.keys()].sort(), [
    'AWS-StartPortForwardingSession',
    'AWS-StartPortForwardingSessionToRemoteHost',
    'AWS-StartSSHSession',
  ]);
  for (const d of PORT_DOCUMENTS.values()) t.equal(d.sessionType, 'Port');
  t.same(Object.keys(pf?.parameters ?? {}).sort(), ['localPortNumber', 'portNumber']);
  t.same(Object.keys(rh?.parameters ?? {}).sort(), ['host', 'localPortNumber', 'portNumber']);
  t.equal(rh?.parameters['host']?.default, undefined, 'host is required');
  t.equal(findPortDocument('SSM-SessionManagerRunShell'), undefined);
});

t.test('port patterns accept exactly the valid ranges', async (t) => {
  if (!pf) throw new Error('missing document');
  for (const [port, ok] of [
    ['1', true],
    ['80', true],
    ['65535', true],
    ['0', false],
    ['65536', false],
    ['080', false],
    ['-1', false],
    ['', false],
  ] as const) {
    const r = resolveDocumentParameters(pf, { portNumber: [port] });
    t.equal('code' in r, !ok, `portNumber ${JSON.stringify(port)}`);
  }
  for (const [port, ok] of [
    ['0', true],
    ['65535', true],
    ['65536', false],
    ['x', false],
  ] as const) {
    const r = resolveDocumentParameters(pf, { localPortNumber: [port] });
    t.equal('code' in r, !ok, `localPortNumber ${JSON.stringify(port)}`);
  }
});

t.test('host pattern refuses shell metacharacters and very short names', async (t) => {
  if (!rh) throw new Error('missing document');
  for (const [host, ok] of [
    ['db.internal', true],
    ['10.0.0.5', true],
    ['ab', false],
    ['a$b.c', false],
    ['x;y.z', false],
    ['a b.c', true],
  ] as const) {
    const r = resolveDocumentParameters(rh, { host: [host] });
    t.equal('code' in r, !ok, `host ${JSON.stringify(host)}`);
  }
});

t.test('substitution yields strings with sorted keys; malformed Parameters are refused', async (t) => {
  if (!rh) throw new Error('missing document');
  const r = resolveDocumentParameters(rh, {
    host: ['db'.padEnd(3, 'x')],
    portNumber: ['5432'],
    localPortNumber: ['9'],
  });
  t.same(r, {
    parameters: { host: ['dbx'], portNumber: ['5432'], localPortNumber: ['9'] },
    properties: { host: 'dbx', localPortNumber: '9', portNumber: '5432', type: 'LocalPortForwarding' },
  });
  t.match(resolveDocumentParameters(rh, 'nope'), { code: 'InvalidParameters' });
  t.match(resolveDocumentParameters(rh, { host: 'db.internal' }), {
    code: 'InvalidParameters',
    message: /list of strings/,
  });
  t.match(resolveDocumentParameters(rh, { host: [5] }), { code: 'InvalidParameters' });
});
