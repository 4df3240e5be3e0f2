import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { resolveConnection } from '../../bin/admin-connection';
import {
  forgetLocalGateway,
  isLocalUrl,
  localStatePaths,
  readLocalServer,
  recordLocalGateway,
  sameLocalServer,
} from '../../bin/local-state';

/** A repository folder in which `npm start` (pid 4242) runs on port 9000. */
describe('admin CLI connection', () => {
  let root: string;
  const alive = (pid: number) => pid === 4242;
  const dead = () => false;
  const gateway = {
    url: 'http://127.0.0.1:9000',
    streamUrl: 'http://127.0.0.1:9001',
    adminToken: 'gwadmin_local',
    demoKey: 'gwk_demo',
  };

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'admin-connection-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('sends a sign-in token as the credential, to the URL given or the npm start running here, never signing', () => {
    const console = 'https://abc.execute-api.eu-west-1.amazonaws.com/';
    expect(resolveConnection({ url: console, token: 'eyJ.a.b' }, { env: {}, cwd: root })).toEqual({
      url: console,
      token: 'eyJ.a.b',
      region: undefined,
    });
    expect(resolveConnection({}, { env: { GATEWAY_URL: console, GATEWAY_TOKEN: 'eyJ.c.d' }, cwd: root })).toMatchObject(
      {
        url: console,
        token: 'eyJ.c.d',
      },
    );
    recordLocalGateway(root, gateway, 4242, new Date('2026-11-29T17:00:00Z'));
    const local = resolveConnection({ token: 'eyJ.e.f' }, { env: {}, cwd: root, isAlive: alive });
    expect(local).toEqual({ url: gateway.url, token: 'eyJ.e.f', region: undefined });
    expect(() => resolveConnection({ token: 'eyJ.e.f' }, { env: {}, cwd: root, isAlive: dead })).toThrow(/ConsoleUrl/);
  });

  it('records where npm start runs, and forgets it only for the process that wrote it', () => {
    recordLocalGateway(root, gateway, 4242, new Date('2026-11-29T17:00:00Z'));
    expect(readLocalServer(root)).toEqual({
      url: 'http://127.0.0.1:9000',
      stream_url: 'http://127.0.0.1:9001',
      admin_token_file: localStatePaths(root).adminToken,
      pid: 4242,
      started_at: '2026-11-29T17:00:00.000Z',
    });
    expect(readFileSync(localStatePaths(root).adminToken, 'utf8')).toBe('gwadmin_local\n');
    forgetLocalGateway(root, 1);
    expect(existsSync(localStatePaths(root).server)).toBe(true);
    forgetLocalGateway(root, 4242);
    expect(readLocalServer(root)).toBeUndefined();
  });

  it('uses the running npm start, whatever its port, when no URL is given', () => {
    recordLocalGateway(root, gateway, 4242);
    expect(resolveConnection({}, { env: {}, cwd: root, isAlive: alive })).toEqual({
      url: 'http://127.0.0.1:9000',
      adminToken: 'gwadmin_local',
    });
  });

  it('refuses a recorded npm start that is no longer running, saying what to do', () => {
    recordLocalGateway(root, gateway, 4242);
    expect(() => resolveConnection({}, { env: {}, cwd: root, isAlive: dead })).toThrow(
      'no API URL: the `npm start` recorded in .local/gateway.json (pid 4242, http://127.0.0.1:9000) is not running. Run `npm start` here, or pass --url (the stack output ApiUrl) or set GATEWAY_URL',
    );
  });

  it('says no npm start runs here when nothing is recorded and no URL is given', () => {
    expect(() => resolveConnection({}, { env: {}, cwd: root })).toThrow(
      `no API URL: no \`npm start\` is running in ${root} (no .local/gateway.json). Run \`npm start\` here`,
    );
  });

  it('takes the local admin token for a --url naming the recorded server by any loopback name', () => {
    recordLocalGateway(root, gateway, 4242);
    for (const url of ['http://127.0.0.1:9000', 'http://localhost:9000/', 'http://127.0.0.1:9000/v1']) {
      expect(resolveConnection({ url }, { env: {}, cwd: root, isAlive: alive })).toEqual({
        url,
        adminToken: 'gwadmin_local',
      });
    }
  });

  it('names the missing local admin token for a local URL that is not the recorded server', () => {
    recordLocalGateway(root, gateway, 4242);
    const io = { env: {}, cwd: root, isAlive: alive };
    expect(() => resolveConnection({ url: 'http://localhost:8080' }, io)).toThrow(
      'no admin token for the local gateway at http://localhost:8080: the `npm start` running here listens on http://127.0.0.1:9000. Pass --admin-token (or set GATEWAY_ADMIN_TOKEN) with the token that gateway printed',
    );
    expect(() => resolveConnection({ url: 'http://localhost:9001' }, io)).toThrow(
      /that is the streaming door of the `npm start` running here; its admin routes are on http:\/\/127\.0\.0\.1:9000/,
    );
    expect(() => resolveConnection({ url: 'http://localhost:9000' }, { ...io, isAlive: dead })).toThrow(
      /^no admin token for the local gateway at http:\/\/localhost:9000: the `npm start` recorded in .* is not running/,
    );
    expect(() => resolveConnection({ url: 'http://localhost:9000' }, { ...io, isAlive: dead })).not.toThrow(/region/);
  });

  it('leaves a deployed URL to SigV4 and an explicit admin token to the caller', () => {
    recordLocalGateway(root, gateway, 4242);
    const io = { env: { AWS_REGION: 'eu-west-1' }, cwd: root, isAlive: alive };
    expect(resolveConnection({ url: 'https://abc.execute-api.eu-west-1.amazonaws.com/' }, io)).toEqual({
      url: 'https://abc.execute-api.eu-west-1.amazonaws.com/',
      region: 'eu-west-1',
    });
    expect(resolveConnection({ url: 'http://localhost:7000', adminToken: 'other' }, io)).toMatchObject({
      url: 'http://localhost:7000',
      adminToken: 'other',
    });
    expect(
      resolveConnection({}, { ...io, env: { GATEWAY_URL: 'http://localhost:7000', GATEWAY_ADMIN_TOKEN: 't' } }),
    ).toMatchObject({ url: 'http://localhost:7000', adminToken: 't' });
  });

  it('refuses a --url that is not a URL before reaching anything', () => {
    expect(() => resolveConnection({ url: 'localhost:9000' }, { env: {}, cwd: root })).toThrow(
      "not a URL: 'localhost:9000' (expected e.g. https://abc.execute-api.eu-west-1.amazonaws.com/)",
    );
  });

  it('refuses a gateway.json that is not a record instead of guessing', () => {
    recordLocalGateway(root, gateway, 4242);
    writeFileSync(localStatePaths(root).server, '{"url": 8080}');
    expect(() => resolveConnection({}, { env: {}, cwd: root, isAlive: alive })).toThrow(
      /gateway\.json is not a local gateway record: delete it and run `npm start`/,
    );
  });

  it('treats every loopback name as one host, and nothing else as local', () => {
    expect(['http://localhost:1', 'http://127.0.0.1:1', 'http://[::1]:1', 'http://0.0.0.0:1'].map(isLocalUrl)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(isLocalUrl('https://abc.execute-api.eu-west-1.amazonaws.com/')).toBe(false);
    expect(isLocalUrl('https://localhost.example.com/')).toBe(false);
    expect(sameLocalServer('http://localhost:9000/', 'http://127.0.0.1:9000')).toBe(true);
    expect(sameLocalServer('http://localhost:9000', 'http://127.0.0.1:9001')).toBe(false);
  });
});
