/**
 * The Kubernetes deployment, validated offline (no cluster here: `kubectl apply --dry-run=client`
 * needs an API server for its schemas). The YAML files are what manifests.ts makes; every object
 * passes kubernetes-models' validation (types, required fields, enums: the upstream OpenAPI schemas
 * compiled); the parts fit each other (selectors, the headless Service, the Secret's keys, HAProxy's
 * servers = the node pods); the balancer's configuration passes `haproxy -c`; and a misspelt field
 * does not compile.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import { manifests, NAMESPACE, NODES, render } from './manifests.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const models: Record<string, new (data: never) => { validate(): void }> = { Namespace, Secret, Service, ConfigMap, StatefulSet, Deployment };

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, any>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** The files as kubectl reads them: YAML documents, a duplicate key an error. */
function objects(): K8sObject[] {
  return manifests().flatMap(({ file }) =>
    parseAllDocuments(readFileSync(here(file), 'utf8'), { uniqueKeys: true }).map((document) => {
      assert.deepEqual(document.errors, [], `${file}: ${document.errors.join('; ')}`);
      return document.toJS() as K8sObject;
    }),
  );
}

test('the YAML files are what manifests.ts makes (npx tsx deploy/kubernetes/manifests.ts writes them)', () => {
  for (const { file, objects } of manifests()) assert.equal(readFileSync(here(file), 'utf8'), render(objects), `${file} is out of date`);
});

test('every object passes its Kubernetes schema; a wrong value is caught', () => {
  const all = objects();
  assert.deepEqual([...new Set(all.map((o) => o.kind))].sort(), Object.keys(models).sort());
  for (const object of all) {
    assert.ok(object.kind === 'Namespace' || object.metadata.namespace === NAMESPACE, `${object.kind}/${object.metadata.name} is in ${NAMESPACE}`);
    new models[object.kind]!(object as never).validate();
  }
  const nodes = all.find((o) => o.kind === 'StatefulSet' && o.metadata.name === NODES.name)!;
  const wrong = structuredClone(nodes);
  wrong.spec!.template.spec.containers[0].securityContext.seccompProfile.type = 'Unconfinde';
  assert.throws(() => new StatefulSet(wrong as never).validate(), /seccompProfile\/type must be equal to one of the allowed values/);
});

test('a misspelt field does not compile (the objects are typed)', () => {
  const dir = mkdtempSync(join(here('.'), '.typo-'));
  try {
    writeFileSync(join(dir, 'typo.ts'), "import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';\nexport const s = new StatefulSet({ metadata: { name: 'x' }, spec: { serviceName: 'x', selector: {}, template: {}, replica: 3 } });\n");
    const tsc = spawnSync(process.execPath, [here('../../node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', join(dir, 'typo.ts')], { encoding: 'utf8' });
    assert.match(tsc.stdout, /error TS2561: Object literal may only specify known properties, but 'replica' does not exist .* Did you mean to write 'replicas'\?/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the parts fit: selectors, the headless Service, the Secret\'s keys, HAProxy\'s servers are the node pods', () => {
  const all = objects();
  const byKind = (kind: string) => all.filter((o) => o.kind === kind);
  const namespace = byKind('Namespace')[0]!;
  assert.equal(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged', 'the node pods are privileged: the namespace must admit them');
  const secretKeys = new Set(Object.keys(byKind('Secret')[0]!.stringData ?? {}));
  for (const workload of [...byKind('StatefulSet'), ...byKind('Deployment')]) {
    const labels = workload.spec!.template.metadata.labels as Record<string, string>;
    for (const [key, value] of Object.entries(workload.spec!.selector.matchLabels as Record<string, string>)) assert.equal(labels[key], value, `${workload.metadata.name}: its selector matches its pods`);
    for (const container of workload.spec!.template.spec.containers as Array<{ env?: Array<{ valueFrom?: { secretKeyRef?: { name: string; key: string } } }> }>) {
      for (const ref of (container.env ?? []).map((e) => e.valueFrom?.secretKeyRef).filter(Boolean)) assert.ok(secretKeys.has(ref!.key), `${workload.metadata.name}: the Secret has ${ref!.key}`);
    }
    assert.equal(workload.spec!.template.spec.hostPID, undefined, 'sandboxes nest in the pod\'s own pid namespace');
    assert.equal(workload.spec!.template.spec.hostNetwork, undefined);
  }
  for (const service of byKind('Service')) {
    const selected = [...byKind('StatefulSet'), ...byKind('Deployment')].filter((w) => Object.entries(service.spec!.selector as Record<string, string>).every(([k, v]) => w.spec!.template.metadata.labels[k] === v));
    assert.equal(selected.length, 1, `Service ${service.metadata.name} selects one workload`);
  }
  const nodes = byKind('StatefulSet').find((s) => s.metadata.name === NODES.name)!;
  const headless = byKind('Service').find((s) => s.metadata.name === nodes.spec!.serviceName)!;
  assert.equal(headless.spec!.clusterIP, 'None', 'the node pods\' Service is headless: each pod has its own DNS name');
  const security = nodes.spec!.template.spec.containers[0].securityContext;
  assert.deepEqual(security, { privileged: true, seccompProfile: { type: 'Unconfined' }, appArmorProfile: { type: 'Unconfined' } });
  // HAProxy's servers are the pods, named and cookied by their node ids (OPSLAB_NODE_ID = the pod's name).
  const config = byKind('ConfigMap')[0]!.data!['haproxy.cfg']!;
  const servers = [...config.matchAll(/^\s*server (\S+) (\S+) cookie (\S+)/gm)].map((m) => [m[1], m[2], m[3]]);
  assert.deepEqual(servers, Array.from({ length: nodes.spec!.replicas }, (_, i) => [`${NODES.name}-${i}`, `${NODES.name}-${i}.${headless.metadata.name}.${NAMESPACE}.svc.cluster.local:4321`, `${NODES.name}-${i}`]));
  const nodeId = nodes.spec!.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'OPSLAB_NODE_ID');
  assert.deepEqual(nodeId.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
});

test('the balancer\'s configuration passes haproxy -c (Debian\'s 2.6; the pods need not exist: init-addr none)', () => {
  assert.equal(spawnSync('haproxy', ['-v']).error, undefined, 'haproxy is installed (npm run setup)');
  const dir = mkdtempSync(join(tmpdir(), 'opslab-k8s-haproxy-'));
  try {
    const haproxy = objects().find((o) => o.kind === 'Deployment' && o.metadata.name === 'haproxy')!;
    const env = Object.fromEntries((haproxy.spec!.template.spec.containers[0].env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, objects().find((o) => o.kind === 'ConfigMap')!.data!['haproxy.cfg']!);
    const check = spawnSync('haproxy', ['-c', '-f', file], { env: { ...process.env, ...env, OPSLAB_HAPROXY_RUN: dir }, encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    assert.match(check.stdout, /Configuration file is valid/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
