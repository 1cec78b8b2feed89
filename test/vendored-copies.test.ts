/**
 * The golden vectors and the official-client transcripts are vendored byte for byte from the
 * shared upstream captures. The per-area tests compare them with ../shared when it exists, but a
 * clean clone usually has no ../shared next to it, so a reformatting (an editor, prettier) would
 * slip through there. These digests were taken from the shared files and pin the copies anywhere.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

const PINNED: Readonly<Record<string, string>> = {
  'protocol/smux/vectors/smux-frames.json': '1402af37bfeb4c1f2d0783e7f7eb48fe1474343c13d8e20990935a4fc58be4dd',
  'protocol/ssm/vectors/ssm-messages.json': '4ab077267c744651b734edbc44e11605d38f98e089d95cd86c57f3e8fa9eb746',
  'session/fixtures/real-agent-basic-session.jsonl': '334a31bdb0970c00dabf039e8384bcc180fc20cbc7ce50efbfdd1e62bbb734e3',
  'session/fixtures/real-agent-connect-error.jsonl': '97db0b48e3e59ac993b7093a62adb8c568fda9cb8a4479bbf90b5e47113f36f6',
  'session/fixtures/real-agent-mux-session.jsonl': 'dd6df58155efa96c5d272abd7286cccb36d28959bf929b0314310d349339d7e4',
  'session/fixtures/real-agent-remote-host-forbidden.jsonl':
    '7ef850cfacd10fbcc659931a92596da8ed9495477309c955203440bb58295ed0',
  'session/fixtures/real-agent-remote-host.jsonl': '037d7ed89ccea1a4017bd385e192097f9c929465ab4724c99058ccbcd1b8adde',
  'session/fixtures/real-agent-resume-upload.jsonl': '33911f0cdb455b014355427e3b17615f3e597acc7a6297ea1fd549860ed3ef3e',
  'session/fixtures/real-agent-resume.jsonl': 'f47a2ee89e79c2b57db56b6f58ac9c2f3b1fe3c6bc67d251b9d673a1c4c9e1d2',
  'session/fixtures/real-agent-terminate-api.agent.jsonl':
    '414a36e62c3ab21083f029f3cac57fcaa550cc34711303f3aa57c375db391526',
  'session/fixtures/real-agent-terminate-api.jsonl': '6acfde72394d776a4be4229c46ad548a06df49dcdc33017a17cf4388b7ec3faf',
};

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

t.test('every vendored vector and transcript is byte-identical to the upstream capture', async (t) => {
  for (const [rel, digest] of Object.entries(PINNED)) t.equal(sha256(join(here, rel)), digest, rel);
});

t.test('no vendored file is left unpinned', async (t) => {
  const present = [
    ...readdirSync(join(here, 'session/fixtures'))
      .filter((n) => n.endsWith('.jsonl'))
      .map((n) => `session/fixtures/${n}`),
    ...['smux', 'ssm'].flatMap((area) =>
      readdirSync(join(here, 'protocol', area, 'vectors')).map((n) => `protocol/${area}/vectors/${n}`),
    ),
  ].sort();
  t.same(present, Object.keys(PINNED).sort());
});
