/**
 * What a lesson's part of the cloud holds, declared by the lesson in
 * `lessons/<slug>/services/openstack.json`: flavors and images the room shares (made by the cloud's
 * admin when missing, found by name when present) and servers each attendee's project gets booted.
 */
import { z } from 'zod';
import { readJsonFile } from '../../sandbox-server/src/shared-services.ts';

const name = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, dots, dashes and underscores');

export const openstackFixtureSchema = z
  .object({
    /** Made when the cloud has no flavor of that name; an existing one is used as it is. */
    flavors: z.array(z.object({ name, ram: z.number().int().positive(), vcpus: z.number().int().positive(), disk: z.number().int().nonnegative() }).strict()).default([]),
    /**
     * Found by name (an active image); when missing, an empty raw image is made public: the local
     * control plane's fake virt driver boots anything. On an existing cloud, upload the real image
     * under that name first.
     */
    images: z.array(z.object({ name }).strict()).default([]),
    /** Booted in every attendee's project (kept in whatever state the attendee leaves them). */
    servers: z.array(z.object({ name, flavor: name, image: name, networks: z.enum(['none', 'auto']).default('none') }).strict()).default([]),
  })
  .strict()
  // A server names a flavor and an image the fixture declares: a typo is caught here, not by Nova mid-start.
  .superRefine((fixture, context) => {
    for (const [index, server] of fixture.servers.entries()) {
      if (!fixture.images.some((i) => i.name === server.image)) context.addIssue({ code: 'custom', path: ['servers', index, 'image'], message: `no image "${server.image}" in images` });
      if (!fixture.flavors.some((f) => f.name === server.flavor)) context.addIssue({ code: 'custom', path: ['servers', index, 'flavor'], message: `no flavor "${server.flavor}" in flavors` });
    }
  });
export type OpenStackFixture = z.infer<typeof openstackFixtureSchema>;

export const emptyFixture: OpenStackFixture = { flavors: [], images: [], servers: [] };

/** Reads a lesson's fixture; an error names the file and the field. */
export function readOpenStackFixture(path: string): OpenStackFixture {
  return readJsonFile(path, openstackFixtureSchema);
}
