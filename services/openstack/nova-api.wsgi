# nova-api under uwsgi: the application Nova's own wsgi script builds (nova-common ships that
# script; this project does not install nova-common, which pulls the service packages).
from nova.api.openstack.compute.wsgi import init_application

application = init_application()
