/**
 * The OpenStack cloud as a shared service of the room (the plug-in interface is in
 * sandbox-server/src/shared-services.ts): the cloud comes up once, each attendee gets a project of
 * their own with the lesson's fixture in it, and each sandbox reaches the cloud's APIs through
 * doors of its own. Settings come from the environment (docs/operations.md) or, in tests, from the
 * context's options.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import type { SandboxAttachment } from '../../sandbox-server/src/sandbox/backend.ts';
import type { ServiceGrant, SharedService, SharedServiceContext, SharedServiceFactory } from '../../sandbox-server/src/shared-services.ts';
import type { StageProgress } from '../../sandbox-server/src/sessions.ts';
import { type AttendeeCloud, OpenStackCloud } from './cloud.ts';
import { CloudDoors, planDoors } from './doors.ts';
import { type OpenStackFixture, readOpenStackFixture } from './fixture.ts';

const optionsSchema = z
  .object({
    /** An existing cloud's config file (OPSLAB_OPENSTACK_CONFIG); without it, the local control plane. */
    externalConfigPath: z.string().min(1).optional(),
    /** The local control plane's state (OPSLAB_OPENSTACK_DIR). */
    stateDir: z.string().min(1),
    /** Seconds between health checks of the local control plane (OPSLAB_OPENSTACK_WATCH_SECONDS). */
    watchSeconds: z.number().int().positive(),
    /** Bring the cloud up with the server (OPSLAB_OPENSTACK_WARM=1), not on the first attendee's arrival. */
    warmAtStart: z.boolean(),
  })
  .strict();

function settings(options: Record<string, unknown>): z.infer<typeof optionsSchema> {
  const env = process.env;
  const fromEnv = {
    ...(env.OPSLAB_OPENSTACK_CONFIG ? { externalConfigPath: env.OPSLAB_OPENSTACK_CONFIG } : {}),
    stateDir: resolve(env.OPSLAB_OPENSTACK_DIR || '/var/lib/opslab/openstack'),
    watchSeconds: Number(env.OPSLAB_OPENSTACK_WATCH_SECONDS || 10),
    warmAtStart: env.OPSLAB_OPENSTACK_WARM === '1',
  };
  const parsed = optionsSchema.safeParse({ ...fromEnv, ...options });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = { externalConfigPath: 'OPSLAB_OPENSTACK_CONFIG', stateDir: 'OPSLAB_OPENSTACK_DIR', watchSeconds: 'OPSLAB_OPENSTACK_WATCH_SECONDS', warmAtStart: 'OPSLAB_OPENSTACK_WARM' }[String(issue.path[0])];
    throw new Error(`the openstack service's setting "${issue.path.join('.')}"${variable ? ` (${variable})` : ''}: ${issue.message}`);
  }
  return parsed.data;
}

class OpenStackService implements SharedService {
  readonly cloud: OpenStackCloud;
  readonly warmAtStart: boolean;

  constructor(private readonly context: SharedServiceContext) {
    const { warmAtStart, ...options } = settings(context.options);
    this.warmAtStart = warmAtStart;
    // An instructor's cloud config is read here: a mistake in it stops the server at start, naming the field.
    this.cloud = new OpenStackCloud({ ...options, key: context.key });
  }

  ready(progress?: StageProgress): Promise<void> {
    return this.cloud.ready(progress);
  }

  health() {
    return this.cloud.health();
  }

  provision(attendee: string, fixture: unknown, progress: StageProgress): Promise<AttendeeCloud> {
    return this.cloud.provision(attendee, fixture as OpenStackFixture | undefined, progress);
  }

  deprovision(attendee: string): Promise<void> {
    return this.cloud.deprovision(attendee);
  }

  attach(grant: ServiceGrant): SandboxAttachment {
    const access = grant as AttendeeCloud;
    return new CloudDoors(this.context.stagingDir, planDoors(access.endpoints), access.openrc);
  }

  detach(attachment: SandboxAttachment): Promise<void> {
    return attachment.close();
  }

  readFixture(path: string): OpenStackFixture {
    return readOpenStackFixture(path);
  }

  stop(): Promise<void> {
    return this.cloud.stop();
  }
}

const createOpenStackService: SharedServiceFactory = (context) => new OpenStackService(context);
export default createOpenStackService;
