/**
 * The room's shared services, as lessons declare them (`services: [openstack]`): each is brought
 * up on first use (or at server start, to warm it before the room arrives) and gives every
 * sandbox that needs it an attachment of its own.
 */
import { join } from 'node:path';
import type { SandboxAttachment } from '../sandbox/backend.ts';
import type { SharedServices, StageProgress } from '../sessions.ts';
import { CloudDoors, planDoors } from './cloud-doors.ts';
import { OpenStackCloud, type OpenStackOptions } from './openstack.ts';

export interface RoomServicesOptions {
  stagingDir: string;
  openstack: OpenStackOptions;
}

export class RoomServices implements SharedServices {
  private cloud: OpenStackCloud | undefined;

  constructor(private readonly options: RoomServicesOptions) {}

  /** The OpenStack cloud (created on first use: reading an external config can fail, and only its lessons care). */
  openstack(): OpenStackCloud {
    this.cloud ??= new OpenStackCloud(this.options.openstack);
    return this.cloud;
  }

  async attach(services: readonly string[], attendee: string, progress: StageProgress): Promise<SandboxAttachment[]> {
    const attachments: SandboxAttachment[] = [];
    for (const service of services) {
      if (service !== 'openstack') throw new Error(`unknown shared service "${service}"`);
      const access = await this.openstack().provision(attendee, progress);
      attachments.push(new CloudDoors(join(this.options.stagingDir, 'cloud'), planDoors(access.endpoints), access.openrc));
    }
    return attachments;
  }

  async stop(): Promise<void> {
    await this.cloud?.stop();
  }
}
