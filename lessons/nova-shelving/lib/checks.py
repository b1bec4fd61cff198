#!/usr/bin/python3
"""The lesson's checks: what Nova and Glance say about test1, read from their APIs.

checks.py STEP [ANSWER] prints feedback and exits 0 (pass) or 1. It reads the attendee's pristine
credentials (/run/opslab/cloud/openrc, which the attendee cannot change), never the terminal.
One process and one token for everything a check needs: each CLI call would cost seconds.
"""
import re
import sys

from keystoneauth1 import session as ks_session
from keystoneauth1.exceptions import ClientException, ConnectFailure
from keystoneauth1.identity import v3

OPENRC = '/run/opslab/cloud/openrc'
RUNNING, SHUTDOWN = 1, 4
POWER = {0: 'NOSTATE', 1: 'Running', 3: 'Paused', 4: 'Shutdown', 6: 'Crashed', 7: 'Suspended'}


def fail(message):
    print(message)
    sys.exit(1)


def credentials():
    env = {}
    with open(OPENRC) as f:
        for line in f:
            m = re.match(r'export (OS_\w+)=(.*)$', line.strip())
            if m:
                env[m.group(1)] = m.group(2)
    return env


class Cloud:
    def __init__(self):
        env = credentials()
        auth = v3.Password(auth_url=env['OS_AUTH_URL'], username=env['OS_USERNAME'], password=env['OS_PASSWORD'],
                           project_name=env['OS_PROJECT_NAME'], user_domain_name=env['OS_USER_DOMAIN_NAME'],
                           project_domain_name=env['OS_PROJECT_DOMAIN_NAME'])
        self.session = ks_session.Session(auth=auth)
        self.region = env.get('OS_REGION_NAME')

    def get(self, service, path):
        headers = {'OpenStack-API-Version': 'compute 2.37'} if service == 'compute' else {}
        try:
            return self.session.get(path, endpoint_filter={'service_type': service, 'interface': 'public', 'region_name': self.region},
                                    headers=headers).json()
        except ConnectFailure:
            fail('The cloud does not answer right now. Wait a moment and check again; if it persists, tell the instructor.')
        except ClientException as error:
            fail(f'The cloud refused the check ({error}). If it persists, tell the instructor.')

    def test1(self):
        servers = self.get('compute', '/servers/detail?name=%5Etest1%24')['servers']
        if not servers:
            fail('There is no server named test1 in your project any more: `nova list` shows what there is. '
                 'Ask the instructor to reset your project.')
        return servers[0]

    def actions(self, server):
        """Nova's instance-action log, oldest first: what `nova instance-action-list test1` shows."""
        actions = self.get('compute', f"/servers/{server['id']}/os-instance-actions")['instanceActions']
        return [a['action'] for a in sorted(actions, key=lambda a: a['start_time'])]

    def shelved_images(self):
        return self.get('image', '/v2/images?name=test1-shelved')['images']


def describe(server):
    task = server.get('OS-EXT-STS:task_state') or '-'
    power = POWER.get(server.get('OS-EXT-STS:power_state'), server.get('OS-EXT-STS:power_state'))
    return f"{server['status']} (task state {task}, power state {power})"


def settled(server, status, power):
    return (server['status'] == status and not server.get('OS-EXT-STS:task_state')
            and server.get('OS-EXT-STS:power_state') == power)


def pairs(actions):
    """How many shelve → unshelve round trips the log holds, in order."""
    count, shelved = 0, False
    for action in actions:
        if action == 'shelve':
            shelved = True
        elif action == 'unshelve' and shelved:
            count, shelved = count + 1, False
    return count


def login(cloud, answer):
    server = cloud.test1()
    if not settled(server, 'ACTIVE', RUNNING):
        fail(f"test1 is {describe(server)}; this step expects it ACTIVE and Running, as the lesson begins. "
             "If you ran ahead, that is fine: go on with the next steps.")
    given = answer.strip().lower()
    if not given:
        fail('Type test1\'s ID: `source openrc`, then `nova list` shows it in the ID column.')
    if given != server['id']:
        fail(f'{answer.strip()} is not test1\'s ID. Copy the ID column of test1\'s row in `nova list` (36 characters, with dashes).')
    print(f"Right: test1 is {server['id']}, ACTIVE and Running, with no network (the Networks column is empty: "
          "it was booted with --nic none).")


def shelve(cloud, _answer):
    server = cloud.test1()
    actions = cloud.actions(server)
    if 'shelve' not in actions:
        fail(f"test1 is {describe(server)} and Nova's action log has no shelve yet: `nova shelve test1`.")
    if server['status'] == 'ACTIVE' and pairs(actions) >= 1:
        print('test1 was shelved (the action log has it) and is already unshelved: you are ahead. Good.')
        return
    if not settled(server, 'SHELVED_OFFLOADED', SHUTDOWN):
        fail(f'test1 is {describe(server)}. Shelving takes a few seconds: `nova show test1` until the status is '
             'SHELVED_OFFLOADED and the task state is gone.')
    print('test1 is SHELVED_OFFLOADED with power state Shutdown: its snapshot is in Glance and the compute host '
          'holds nothing of it any more.')


def where(cloud, answer):
    images = cloud.shelved_images()
    server = cloud.test1()
    if not images:
        fail(f'There is no image test1-shelved in Glance right now (test1 is {describe(server)}). It exists only while '
             'test1 is shelved: shelve it again (`nova shelve test1`), then `openstack image list`.')
    given = answer.strip().lower()
    ids = [image['id'] for image in images]
    if given not in ids:
        fail(f"{answer.strip() or 'Nothing'} is not the ID of test1-shelved. `openstack image list` lists it: copy its ID.")
    print(f'Right: {given} is the snapshot Nova took when it shelved test1. While test1 is shelved-offloaded, this '
          'image is all that is left of it: no hypervisor holds its CPU, memory or disk.')


def unshelve(cloud, _answer):
    server = cloud.test1()
    actions = cloud.actions(server)
    if pairs(actions) < 1:
        fail(f"test1 is {describe(server)}; Nova's action log has no unshelve after a shelve yet: `nova unshelve test1`.")
    if not settled(server, 'ACTIVE', RUNNING):
        fail(f'test1 is {describe(server)}. Unshelving takes a few seconds (task state spawning): `nova list` until it is ACTIVE / Running.')
    if cloud.shelved_images():
        fail('test1 is ACTIVE again but the image test1-shelved is still in Glance. Wait a moment: Nova deletes it once the unshelve is done.')
    print(f"test1 is ACTIVE / Running again, test1-shelved is gone, and the action log reads {', '.join(actions)}.")


def openstack_cli(cloud, _answer):
    server = cloud.test1()
    actions = cloud.actions(server)
    if pairs(actions) < 2:
        fail(f"Nova's action log has {pairs(actions)} shelve/unshelve round trip(s): {', '.join(actions)}. "
             'Do one more with the openstack CLI: `openstack server shelve test1`, then `openstack server unshelve test1`.')
    if not settled(server, 'ACTIVE', RUNNING):
        fail(f'test1 is {describe(server)}. Finish the round trip: `openstack server unshelve test1`, and wait for ACTIVE.')
    print(f"Two round trips in Nova's log ({', '.join(actions)}), test1 ACTIVE / Running: the openstack CLI and nova "
          'speak to the same API.')


STEPS = {'login': login, 'shelve': shelve, 'where': where, 'unshelve': unshelve, 'openstack-cli': openstack_cli}

if __name__ == '__main__':
    STEPS[sys.argv[1]](Cloud(), sys.argv[2] if len(sys.argv) > 2 else '')
