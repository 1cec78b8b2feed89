import t from 'tap';
import type { InstanceFilter, InstanceInfo, SsmApi } from '../../src/aws/ssm-api.js';
import { isTunnelError } from '../../src/errors.js';
import { parseTargetRef, describeTargetRef } from '../../src/tunnel/forward-spec.js';
import { resolveTarget } from '../../src/tunnel/target.js';

interface Node extends InstanceInfo {
  tags: Record<string, string>;
}

/** A fake SsmApi whose DescribeInstanceInformation applies tag filters like the service (AND of filters, OR of values). */
function fakeApi(nodes: Node[]): SsmApi & { filters: InstanceFilter[][] } {
  const filters: InstanceFilter[][] = [];
  const fail = (): never => {
    throw new Error('not used');
  };
  return {
    filters,
    startSession: fail,
    resumeSession: fail,
    terminateSession: fail,
    listTags: fail,
    async describeInstances(f) {
      filters.push(f);
      return nodes
        .filter((n) =>
          f.every((x) => {
            if (!x.key.startsWith('tag:')) throw new Error(`unexpected filter ${x.key}`);
            const v = n.tags[x.key.slice(4)];
            return v !== undefined && x.values.includes(v);
          }),
        )
        .map(({ tags: _tags, ...info }) => info);
    },
  };
}

const nodes: Node[] = [
  {
    instanceId: 'i-0aaaaaaaaaaaaaaa1',
    pingStatus: 'Online',
    agentVersion: '3.3.1142.0',
    tags: { Name: 'db', Env: 'prod', Role: 'db' },
  },
  { instanceId: 'i-0aaaaaaaaaaaaaaa2', pingStatus: 'Online', tags: { Name: 'web', Env: 'prod', Role: 'web' } },
  { instanceId: 'i-0aaaaaaaaaaaaaaa3', pingStatus: 'Online', tags: { Name: 'web', Env: 'dev', Role: 'web' } },
  { instanceId: 'mi-0aaaaaaaaaaaaaaa4', pingStatus: 'ConnectionLost', tags: { Name: 'bastion' } },
  { instanceId: 'i-0aaaaaaaaaaaaaaa5', pingStatus: 'Online', tags: { Name: 'bastion' } },
];

t.test('parses ids, tag expressions and Name values', async (t) => {
  t.same(parseTargetRef('i-0123456789abcdef0'), { kind: 'id', id: 'i-0123456789abcdef0' });
  t.same(parseTargetRef('mi-0123456789abcdef0'), { kind: 'id', id: 'mi-0123456789abcdef0' });
  t.same(parseTargetRef('tag:Env=prod,Role=db'), { kind: 'tags', tags: { Env: 'prod', Role: 'db' } });
  t.same(parseTargetRef('my-db'), { kind: 'name', name: 'my-db' });
  t.equal(parseTargetRef('tag:Env'), undefined);
  t.equal(parseTargetRef('  '), undefined);
  t.equal(describeTargetRef({ kind: 'tags', tags: { Env: 'prod', Role: 'db' } }), 'tag:Env=prod,tag:Role=db');
});

t.test('an instance id is used as given; its agent version is looked up best-effort', async (t) => {
  const api = fakeApi(nodes);
  const calls: InstanceFilter[][] = [];
  api.describeInstances = async (f) => {
    calls.push(f);
    return [{ instanceId: 'i-0123456789abcdef0', agentVersion: '3.0.196.0', pingStatus: 'Online' }];
  };
  t.same(await resolveTarget(api, { kind: 'id', id: 'i-0123456789abcdef0' }), {
    instanceId: 'i-0123456789abcdef0',
    agentVersion: '3.0.196.0',
    pingStatus: 'Online',
  });
  t.same(calls, [[{ key: 'InstanceIds', values: ['i-0123456789abcdef0'] }]]);
  api.describeInstances = async () => {
    throw new Error('AccessDenied for DescribeInstanceInformation');
  };
  t.same(
    await resolveTarget(api, { kind: 'id', id: 'i-0123456789abcdef0' }),
    { instanceId: 'i-0123456789abcdef0' },
    'a refused lookup is ignored',
  );
});

t.test('a Name value resolves through a tag:Name filter', async (t) => {
  const api = fakeApi(nodes);
  const r = await resolveTarget(api, { kind: 'name', name: 'db' });
  t.equal(r.instanceId, 'i-0aaaaaaaaaaaaaaa1');
  t.equal(r.agentVersion, '3.3.1142.0');
  t.same(api.filters, [[{ key: 'tag:Name', values: ['db'] }]]);
});

t.test('tags are AND-ed filters', async (t) => {
  const api = fakeApi(nodes);
  const r = await resolveTarget(api, { kind: 'tags', tags: { Env: 'prod', Role: 'web' } });
  t.equal(r.instanceId, 'i-0aaaaaaaaaaaaaaa2');
  t.same(api.filters[0], [
    { key: 'tag:Env', values: ['prod'] },
    { key: 'tag:Role', values: ['web'] },
  ]);
});

t.test('no match is ERR_TUNNEL_TARGET_NOT_FOUND naming what was looked for', async (t) => {
  const err = await resolveTarget(fakeApi(nodes), { kind: 'name', name: 'nope' }).catch((e: unknown) => e);
  t.ok(isTunnelError(err, 'ERR_TUNNEL_TARGET_NOT_FOUND'));
  t.match((err as Error).message, /Name=nope/);
});

t.test('several matches is ERR_TUNNEL_TARGET_AMBIGUOUS listing every candidate', async (t) => {
  const err = await resolveTarget(fakeApi(nodes), { kind: 'name', name: 'web' }).catch((e: unknown) => e);
  t.ok(isTunnelError(err, 'ERR_TUNNEL_TARGET_AMBIGUOUS'));
  t.match((err as Error).message, /i-0aaaaaaaaaaaaaaa2/);
  t.match((err as Error).message, /i-0aaaaaaaaaaaaaaa3/);
  t.match((err as Error).message, /^2 managed nodes match Name=web/);
});

t.test('of several matches, the only Online one is chosen', async (t) => {
  const r = await resolveTarget(fakeApi(nodes), { kind: 'name', name: 'bastion' });
  t.equal(r.instanceId, 'i-0aaaaaaaaaaaaaaa5');
  t.equal(r.pingStatus, 'Online');
});
