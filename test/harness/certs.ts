// Test PKI made with the openssl CLI: one CA and, signed by it, a good server certificate
// (localhost, 127.0.0.1, backend.test), a wrong-name one, an expired one, a revoked one (listed in
// the CRL) and a client certificate. Signing goes through `openssl ca` because only it can back-date
// a certificate (openssl 3.0 `x509 -req` cannot) and keep the index a CRL is generated from.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export interface CertPair {
  cert: string;
  key: string;
}

export interface TestCerts {
  dir: string;
  /** CA certificate (PEM) that signed everything below */
  ca: string;
  caKey: string;
  /** CN localhost; SAN DNS:localhost, IP:127.0.0.1, DNS:backend.test; serverAuth */
  server: CertPair;
  /** valid and CA-signed, but CN/SAN `wrong.test` only */
  wrongName: CertPair;
  /** same names as `server`, validity 2020-01-01..2020-01-02 */
  expired: CertPair;
  /** same names as `server`, revoked in `crl` */
  revoked: CertPair;
  /** CN sluice-client; clientAuth */
  client: CertPair;
  /** CRL (PEM) of the CA listing `revoked` */
  crl: string;
  /** CA cert followed by the CRL in one file (what some tools want) */
  caWithCrl: string;
}

const SERVER_SAN = 'DNS:localhost,IP:127.0.0.1,DNS:backend.test';

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((res, rej) => {
    execFile('openssl', args, { cwd, timeout: 60_000 }, (err, _stdout, stderr) => {
      if (err) rej(new Error(`openssl ${args.join(' ')} failed: ${stderr}`));
      else res();
    });
  });
}

function caConfig(dir: string): string {
  return `[ ca ]
default_ca = test_ca
[ test_ca ]
dir = ${dir}
database = $dir/ca-db/index.txt
new_certs_dir = $dir/ca-db/new
serial = $dir/ca-db/serial
crlnumber = $dir/ca-db/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = Sluice Test CA
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = ${SERVER_SAN}
authorityKeyIdentifier = keyid
[ v3_wrong ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.test
authorityKeyIdentifier = keyid
[ v3_client ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;
}

/** Creates the PKI in `dir` (created if missing) and returns absolute paths. */
export async function makeCerts(dirIn: string): Promise<TestCerts> {
  const dir = resolve(dirIn);
  await mkdir(join(dir, 'ca-db', 'new'), { recursive: true });
  await writeFile(join(dir, 'ca-db', 'index.txt'), '');
  await writeFile(join(dir, 'ca-db', 'serial'), '1000\n');
  await writeFile(join(dir, 'ca-db', 'crlnumber'), '1000\n');
  const cnf = join(dir, 'openssl-ca.cnf');
  await writeFile(cnf, caConfig(dir));

  const names = ['server', 'wrong-name', 'expired', 'revoked', 'client'] as const;
  const p = (n: string, ext: string): string => join(dir, `${n}.${ext}`);
  const keygen = (n: string): Promise<void> =>
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p(n, 'key')], dir);

  await Promise.all([keygen('ca'), ...names.map(keygen)]);
  await openssl(['req', '-config', cnf, '-new', '-x509', '-key', p('ca', 'key'), '-out', p('ca', 'pem'),
    '-days', '3650', '-extensions', 'v3_ca', '-sha256'], dir);

  const cn: Record<(typeof names)[number], string> = {
    server: 'localhost', 'wrong-name': 'wrong.test', expired: 'localhost', revoked: 'localhost', client: 'sluice-client',
  };
  const ext: Record<(typeof names)[number], string> = {
    server: 'v3_server', 'wrong-name': 'v3_wrong', expired: 'v3_server', revoked: 'v3_server', client: 'v3_client',
  };
  // `openssl ca` appends to one index/serial: sign one at a time
  for (const n of names) {
    await openssl(['req', '-new', '-key', p(n, 'key'), '-subj', `/CN=${cn[n]}`, '-out', p(n, 'csr')], dir);
    const dates = n === 'expired' ? ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'] : ['-days', '3650'];
    await openssl(['ca', '-batch', '-config', cnf, '-extensions', ext[n], ...dates, '-notext',
      '-in', p(n, 'csr'), '-out', p(n, 'pem')], dir);
  }
  await openssl(['ca', '-config', cnf, '-revoke', p('revoked', 'pem'), '-crl_reason', 'keyCompromise'], dir);
  await openssl(['ca', '-config', cnf, '-gencrl', '-out', p('crl', 'pem')], dir);
  await writeFile(p('ca-with-crl', 'pem'), (await readFile(p('ca', 'pem'), 'utf8')) + (await readFile(p('crl', 'pem'), 'utf8')));

  const pair = (n: string): CertPair => ({ cert: p(n, 'pem'), key: p(n, 'key') });
  return {
    dir,
    ca: p('ca', 'pem'),
    caKey: p('ca', 'key'),
    server: pair('server'),
    wrongName: pair('wrong-name'),
    expired: pair('expired'),
    revoked: pair('revoked'),
    client: pair('client'),
    crl: p('crl', 'pem'),
    caWithCrl: p('ca-with-crl', 'pem'),
  };
}
