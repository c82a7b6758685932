/** A grant as the tests write it: the issuer is the one provider's. */
export interface TestGrant {
  identity: string;
  principals: string[];
  profile?: string;
}

export interface TestConfig {
  issuer: string;
  clientId: string;
  expiration?: string;
  grants: TestGrant[];
  denyIdentities?: string[];
  denyUsers?: string[];
  auditLog?: string;
  jwksCacheDir?: string;
  /** runtime_dir (the verifier's state is <runtimeDir>/verify). */
  runtimeDir?: string;
  /** A pinned jwks_file for the provider (never fetched). */
  jwksFile?: string;
}

/** leash.yaml text for one provider and its grants, as an operator would write it. */
export function leashYaml(c: TestConfig): string {
  const lines = ['providers:', `  - issuer: ${c.issuer}`, `    client_id: ${c.clientId}`, `    expiration: ${c.expiration ?? '24h'}`];
  if (c.jwksFile) lines.push(`    jwks_file: ${c.jwksFile}`);
  lines.push('grants:');
  for (const g of c.grants) {
    lines.push(`  - identity: ${g.identity}`, `    issuer: ${c.issuer}`, `    principals: [${g.principals.join(', ')}]`, `    profile: ${g.profile ?? 'diagnostic'}`);
  }
  if (c.denyIdentities || c.denyUsers) {
    lines.push('deny:');
    if (c.denyIdentities) lines.push(`  identities: [${c.denyIdentities.join(', ')}]`);
    if (c.denyUsers) lines.push(`  users: [${c.denyUsers.join(', ')}]`);
  }
  if (c.auditLog) lines.push(`audit_log: ${c.auditLog}`);
  if (c.jwksCacheDir) lines.push(`jwks_cache_dir: ${c.jwksCacheDir}`);
  if (c.runtimeDir) lines.push(`runtime_dir: ${c.runtimeDir}`);
  return `${lines.join('\n')}\n`;
}
