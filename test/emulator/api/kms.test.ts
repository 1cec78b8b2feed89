import t from 'tap';
import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { startApiServer, sdkError } from '../../helpers/emulator-api-server.js';
import { unwrapDataKey } from '../../../src/emulator/api/kms-api.js';

const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';
const context = { 'aws:ssm:SessionId': 'emulator-0123456789abcdef0', 'aws:ssm:TargetId': 'i-0123456789abcdef0' };

async function setup(
  t: Parameters<typeof startApiServer>[0],
  accessDeny: Array<{ action: string; resource?: string }> = [],
) {
  return startApiServer(t, { instances: [{ instanceId: 'i-0123456789abcdef0', kmsKeyId: KEY }], accessDeny });
}

t.test('GenerateDataKey returns a plaintext key and a blob Decrypt opens with the same context', async (t) => {
  const api = await setup(t);
  const kms = api.kms();
  const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: KEY, KeySpec: 'AES_256', EncryptionContext: context }));
  t.equal(dk.Plaintext?.length, 32);
  t.equal(dk.KeyId, `arn:aws:kms:us-east-1:123456789012:key/${KEY}`);
  t.ok((dk.CiphertextBlob?.length ?? 0) > 32);
  t.notOk(
    Buffer.from(dk.CiphertextBlob ?? []).includes(Buffer.from(dk.Plaintext ?? [])),
    'the blob does not contain the key in clear',
  );
  const back = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: context }));
  t.same(Buffer.from(back.Plaintext ?? []), Buffer.from(dk.Plaintext ?? []));
  t.equal(back.KeyId, dk.KeyId);
  // The in-process unwrap (for the emulated agent) gives the same key.
  const inProcess = unwrapDataKey(api.state, Buffer.from(dk.CiphertextBlob ?? []), context);
  t.same(inProcess.plaintext, Buffer.from(dk.Plaintext ?? []));
  t.equal(inProcess.keyId, KEY);
  t.same(
    api.state.calls.map((c) => c.operation),
    ['kms:GenerateDataKey', 'kms:Decrypt'],
  );
});

t.test('key named by ARN, NumberOfBytes, and explicit KeyId on Decrypt', async (t) => {
  const api = await setup(t);
  const kms = api.kms();
  const dk = await kms.send(
    new GenerateDataKeyCommand({ KeyId: `arn:aws:kms:us-east-1:123456789012:key/${KEY}`, NumberOfBytes: 64 }),
  );
  t.equal(dk.Plaintext?.length, 64);
  const back = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, KeyId: KEY }));
  t.same(Buffer.from(back.Plaintext ?? []), Buffer.from(dk.Plaintext ?? []));
});

t.test('wrong context, tampered blob, unknown key and bad requests', async (t) => {
  const api = await setup(t);
  const kms = api.kms();
  const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: KEY, KeySpec: 'AES_256', EncryptionContext: context }));
  const wrongContext = await sdkError(
    kms.send(
      new DecryptCommand({
        CiphertextBlob: dk.CiphertextBlob,
        EncryptionContext: { ...context, 'aws:ssm:TargetId': 'i-0ffffffffffffffff' },
      }),
    ),
  );
  t.equal(wrongContext.name, 'InvalidCiphertextException');
  const noContext = await sdkError(kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob })));
  t.equal(noContext.name, 'InvalidCiphertextException');
  const tampered = Buffer.from(dk.CiphertextBlob ?? []);
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
  t.equal(
    (await sdkError(kms.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: context })))).name,
    'InvalidCiphertextException',
  );
  t.equal(
    (
      await sdkError(
        kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from('garbage'), EncryptionContext: context })),
      )
    ).name,
    'InvalidCiphertextException',
  );
  const unknown = await sdkError(kms.send(new GenerateDataKeyCommand({ KeyId: 'no-such-key', KeySpec: 'AES_256' })));
  t.equal(unknown.name, 'NotFoundException');
  t.match(unknown.message, /no-such-key/);
  const neither = await sdkError(kms.send(new GenerateDataKeyCommand({ KeyId: KEY })));
  t.equal(neither.name, 'ValidationException');
  const tooMany = await sdkError(kms.send(new GenerateDataKeyCommand({ KeyId: KEY, NumberOfBytes: 2048 })));
  t.equal(tooMany.name, 'ValidationException');
  const otherKey = await sdkError(
    kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: context, KeyId: 'another' })),
  );
  t.equal(otherKey.name, 'IncorrectKeyException');
});

t.test('KMS requests are SigV4 checked with service kms', async (t) => {
  const api = await setup(t);
  const err = await sdkError(
    api
      .kms({ credentials: { accessKeyId: api.credentials.accessKeyId, secretAccessKey: 'nope' } })
      .send(new GenerateDataKeyCommand({ KeyId: KEY, KeySpec: 'AES_256' })),
  );
  t.equal(err.name, 'InvalidSignatureException');
  const unknownKey = await sdkError(
    api
      .kms({ credentials: { accessKeyId: 'AKIAOTHEROTHEROTHER0', secretAccessKey: 'nope' } })
      .send(new GenerateDataKeyCommand({ KeyId: KEY, KeySpec: 'AES_256' })),
  );
  t.equal(unknownKey.name, 'UnrecognizedClientException');
});

t.test('the deny list covers kms actions', async (t) => {
  const api = await setup(t, [{ action: 'kms:Decrypt' }]);
  const kms = api.kms();
  const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: KEY, KeySpec: 'AES_256' }));
  const err = await sdkError(kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob })));
  t.equal(err.name, 'AccessDeniedException');
  t.match(err.message, `kms:Decrypt on resource: arn:aws:kms:us-east-1:123456789012:key/${KEY}`);
});
