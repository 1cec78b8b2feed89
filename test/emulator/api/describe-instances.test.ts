import t from 'tap';
import {
  DescribeInstanceInformationCommand,
  ListTagsForResourceCommand,
  type InstanceInformation,
} from '@aws-sdk/client-ssm';
import { startApiServer, sdkError } from '../../helpers/emulator-api-server.js';
import type { InstanceSettings } from '../../../src/emulator/options.js';

function fleet(): InstanceSettings[] {
  const out: InstanceSettings[] = [];
  for (let n = 0; n < 23; n++) {
    const hex = n.toString(16).padStart(17, '0');
    out.push({
      instanceId: n % 5 === 0 ? `mi-${hex}` : `i-${hex}`,
      name: `node-${n}`,
      tags: n % 2 === 0 ? { Env: 'dev' } : { Env: 'prod', Team: 'db' },
      pingStatus: n % 7 === 3 ? 'ConnectionLost' : 'Online',
      platformType: n % 4 === 1 ? 'Windows' : 'Linux',
      agentVersion: n % 3 === 0 ? '3.2.582.0' : '3.3.4851.0',
    });
  }
  return out;
}

async function listAll(
  send: (token?: string) => Promise<{ list: InstanceInformation[]; next?: string }>,
): Promise<{ items: InstanceInformation[]; pages: number }> {
  const items: InstanceInformation[] = [];
  let token: string | undefined;
  let pages = 0;
  for (let guard = 0; guard < 50; guard++) {
    const page = await send(token);
    pages++;
    items.push(...page.list);
    token = page.next;
    if (token === undefined) break;
  }
  return { items, pages };
}

t.test('pages through every instance with the default page size of 10', async (t) => {
  const api = await startApiServer(t, { instances: fleet() });
  const ssm = api.ssm();
  const first = await ssm.send(new DescribeInstanceInformationCommand({}));
  t.equal(first.InstanceInformationList?.length, 10);
  t.type(first.NextToken, 'string');
  const { items, pages } = await listAll(async (NextToken) => {
    const r = await ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 5, NextToken }));
    return { list: r.InstanceInformationList ?? [], next: r.NextToken };
  });
  t.equal(pages, 5);
  t.equal(items.length, 23);
  t.equal(new Set(items.map((i) => i.InstanceId)).size, 23, 'no duplicates across pages');
});

t.test('elements carry the service fields, timestamps as dates, and no tags', async (t) => {
  const api = await startApiServer(t, { instances: fleet() });
  const r = await api.ssm().send(
    new DescribeInstanceInformationCommand({
      Filters: [{ Key: 'InstanceIds', Values: ['i-00000000000000001', 'mi-00000000000000000'] }],
    }),
  );
  const list = r.InstanceInformationList ?? [];
  t.equal(list.length, 2);
  const ec2 = list.find((i) => i.InstanceId === 'i-00000000000000001');
  const mi = list.find((i) => i.InstanceId === 'mi-00000000000000000');
  t.equal(ec2?.PingStatus, 'Online');
  t.equal(ec2?.PlatformType, 'Windows');
  t.equal(ec2?.ResourceType, 'EC2Instance');
  t.equal(ec2?.AgentVersion, '3.3.4851.0');
  t.equal(ec2?.IsLatestVersion, true);
  t.equal(ec2?.SourceType, 'AWS::EC2::Instance');
  t.ok(ec2?.LastPingDateTime instanceof Date, 'epoch seconds parse as a Date');
  t.ok(Math.abs((ec2?.LastPingDateTime?.getTime() ?? 0) - Date.now()) < 60_000, 'epoch seconds, not milliseconds');
  t.equal(ec2?.Name, undefined, 'EC2 nodes have no registration name');
  t.equal(mi?.ResourceType, 'ManagedInstance');
  t.equal(mi?.Name, 'node-0');
  t.equal(mi?.IsLatestVersion, false);
  t.notOk(JSON.stringify(list).includes('"Tags"'), 'no tags in the response');
});

t.test(
  'filters: tag:Name, tag:<K>, tag-key, PingStatus, PlatformTypes, ResourceType, AgentVersion, AND-ed',
  async (t) => {
    const api = await startApiServer(t, { instances: fleet() });
    const ssm = api.ssm();
    const ids = async (Filters: Array<{ Key: string; Values: string[] }>): Promise<string[]> => {
      const { items } = await listAll(async (NextToken) => {
        const r = await ssm.send(new DescribeInstanceInformationCommand({ Filters, MaxResults: 50, NextToken }));
        return { list: r.InstanceInformationList ?? [], next: r.NextToken };
      });
      return items.map((i) => i.InstanceId ?? '').sort();
    };
    const expect = (pred: (i: InstanceSettings) => boolean): string[] =>
      fleet()
        .filter(pred)
        .map((i) => i.instanceId)
        .sort();
    t.same(
      await ids([{ Key: 'tag:Name', Values: ['node-4', 'node-7'] }]),
      expect((i) => i.name === 'node-4' || i.name === 'node-7'),
    );
    t.same(
      await ids([{ Key: 'tag:Env', Values: ['prod'] }]),
      expect((i) => i.tags?.['Env'] === 'prod'),
    );
    t.same(
      await ids([{ Key: 'tag-key', Values: ['Team'] }]),
      expect((i) => i.tags?.['Team'] !== undefined),
    );
    t.same(
      await ids([{ Key: 'PingStatus', Values: ['ConnectionLost'] }]),
      expect((i) => i.pingStatus === 'ConnectionLost'),
    );
    t.same(
      await ids([{ Key: 'PlatformTypes', Values: ['Windows'] }]),
      expect((i) => i.platformType === 'Windows'),
    );
    t.same(
      await ids([{ Key: 'ResourceType', Values: ['ManagedInstance'] }]),
      expect((i) => i.instanceId.startsWith('mi-')),
    );
    t.same(
      await ids([{ Key: 'AgentVersion', Values: ['3.2.582.0'] }]),
      expect((i) => i.agentVersion === '3.2.582.0'),
    );
    t.same(
      await ids([
        { Key: 'tag:Env', Values: ['dev'] },
        { Key: 'PingStatus', Values: ['Online'] },
        { Key: 'PlatformTypes', Values: ['Linux'] },
      ]),
      expect((i) => i.tags?.['Env'] === 'dev' && i.pingStatus !== 'ConnectionLost' && i.platformType !== 'Windows'),
    );
    t.same(await ids([{ Key: 'tag:Name', Values: ['nobody'] }]), []);
  },
);

t.test('legacy InstanceInformationFilterList', async (t) => {
  const api = await startApiServer(t, { instances: fleet() });
  const ssm = api.ssm();
  const r = await ssm.send(
    new DescribeInstanceInformationCommand({
      InstanceInformationFilterList: [{ key: 'PingStatus', valueSet: ['ConnectionLost'] }],
      MaxResults: 50,
    }),
  );
  t.same(
    (r.InstanceInformationList ?? []).map((i) => i.InstanceId).sort(),
    fleet()
      .filter((i) => i.pingStatus === 'ConnectionLost')
      .map((i) => i.instanceId)
      .sort(),
  );
  t.same(
    api.state.calls.at(-1)?.request,
    { InstanceInformationFilterList: [{ key: 'PingStatus', valueSet: ['ConnectionLost'] }], MaxResults: 50 },
    'lower-case members on the wire',
  );
  const tagErr = await sdkError(
    ssm.send(
      new DescribeInstanceInformationCommand({
        InstanceInformationFilterList: [{ key: 'tag:Name' as 'PingStatus', valueSet: ['x'] }],
      }),
    ),
  );
  t.equal(tagErr.name, 'InvalidFilterKey', 'the legacy list has no tag filters');
  const both = await sdkError(
    ssm.send(
      new DescribeInstanceInformationCommand({
        InstanceInformationFilterList: [{ key: 'PingStatus', valueSet: ['Online'] }],
        Filters: [{ Key: 'PingStatus', Values: ['Online'] }],
      }),
    ),
  );
  t.equal(both.name, 'InvalidFilterKey');
});

t.test(
  'errors: InvalidFilterKey, InvalidInstanceInformationFilterValue, MaxResults bounds, InvalidNextToken',
  async (t) => {
    const api = await startApiServer(t, { instances: fleet() });
    const ssm = api.ssm();
    const badKey = await sdkError(
      ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'Colour', Values: ['red'] }] })),
    );
    t.equal(badKey.name, 'InvalidFilterKey');
    t.match(badKey.message, /Colour/);
    const badValue = await sdkError(
      ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'PingStatus', Values: ['Sleeping'] }] })),
    );
    t.equal(badValue.name, 'InvalidInstanceInformationFilterValue');
    t.match(badValue.message, /Sleeping/);
    const low = await sdkError(ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 4 })));
    t.equal(low.name, 'ValidationException');
    t.match(low.message, /greater than or equal to 5/);
    const high = await sdkError(ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 51 })));
    t.equal(high.name, 'ValidationException');
    const garbage = await sdkError(ssm.send(new DescribeInstanceInformationCommand({ NextToken: 'not-a-token' })));
    t.equal(garbage.name, 'InvalidNextToken');
    const first = await ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 5 }));
    const mismatched = await sdkError(
      ssm.send(
        new DescribeInstanceInformationCommand({
          MaxResults: 5,
          NextToken: first.NextToken,
          Filters: [{ Key: 'PingStatus', Values: ['Online'] }],
        }),
      ),
    );
    t.equal(mismatched.name, 'InvalidNextToken', 'a token only continues the listing it came from');
    const empty = await sdkError(
      ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'PingStatus', Values: [] }] })),
    );
    t.equal(empty.name, 'ValidationException');
  },
);

t.test("ListTagsForResource returns a managed node's tags as a TagList", async (t) => {
  const api = await startApiServer(t, { instances: fleet() });
  const ssm = api.ssm();
  const mi = await ssm.send(
    new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: 'mi-00000000000000005' }),
  );
  t.same(mi.TagList, [
    { Key: 'Env', Value: 'prod' },
    { Key: 'Name', Value: 'node-5' },
    { Key: 'Team', Value: 'db' },
  ]);
  const ec2 = await ssm.send(
    new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: 'i-00000000000000002' }),
  );
  t.same(ec2.TagList, [
    { Key: 'Env', Value: 'dev' },
    { Key: 'Name', Value: 'node-2' },
  ]);
  api.state.setInstance('i-00000000000000002', { tags: { Owner: 'me' } });
  const changed = await ssm.send(
    new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: 'i-00000000000000002' }),
  );
  t.same(changed.TagList, [{ Key: 'Owner', Value: 'me' }], 'run-time tag changes show');
  const unknown = await sdkError(
    ssm.send(new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: 'i-0ffffffffffffffff' })),
  );
  t.equal(unknown.name, 'InvalidResourceId');
  const otherType = await sdkError(
    ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'Document', ResourceId: 'AWS-StartPortForwardingSession' }),
    ),
  );
  t.equal(otherType.name, 'InvalidResourceType');
});
