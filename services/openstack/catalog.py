#!/usr/bin/python3
"""Creates the service project, the services' users and the catalog, once (idempotent).

Through the keystone API in one process: each `openstack` CLI call would cost seconds here.
"""
import os

from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

STATE = os.environ['STATE']
auth = v3.Password(auth_url=os.environ['OS_AUTH_URL'], username='admin', password=os.environ['OS_PASSWORD'],
                   project_name='admin', user_domain_id='default', project_domain_id='default')
ks = client.Client(session=session.Session(auth=auth))

SERVICES = [
    ('placement', 'placement', 'Placement API', 'http://127.0.0.1:8778'),
    ('glance', 'image', 'OpenStack Image', 'http://127.0.0.1:9292'),
    ('neutron', 'network', 'OpenStack Networking', 'http://127.0.0.1:9696'),
    ('nova', 'compute', 'OpenStack Compute', 'http://127.0.0.1:8774/v2.1'),
]


def one(items):
    return items[0] if items else None


service_project = one(ks.projects.list(name='service')) or ks.projects.create('service', 'default', description='Service users')
admin_role = one(ks.roles.list(name='admin'))
for name, kind, description, url in SERVICES:
    with open(os.path.join(STATE, 'secrets', f'user-{name}')) as f:
        password = f.read().strip()
    user = one(ks.users.list(name=name, domain='default'))
    if user:
        ks.users.update(user, password=password)
    else:
        user = ks.users.create(name, domain='default', password=password)
    ks.roles.grant(admin_role, user=user, project=service_project)
    service = one(ks.services.list(type=kind)) or ks.services.create(name, type=kind, description=description)
    existing = {e.interface for e in ks.endpoints.list(service=service)}
    for interface in ('public', 'internal', 'admin'):
        if interface not in existing:
            ks.endpoints.create(service, url, interface=interface, region='RegionOne')
print(f'catalog: {len(SERVICES)} services, their users in project service')
