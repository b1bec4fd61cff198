"""neutron-server, with its database models' relationships set up before it serves.

Neutron 21 (Zed) reads `Port.port_forwardings`, a backref that exists only once SQLAlchemy has
configured its mappers, which happens at a process's first query. With no agents and nothing else
querying first, a fresh API worker's first `GET /v2.0/ports` (Nova's first call for any server)
failed with HTTP 500 (AttributeError) — seen here. Importing every model and configuring the
mappers up front makes the first request like any other.
"""
import sys

import sqlalchemy.orm
from neutron.db.migration.models import head  # noqa: F401 -- imports every model

sqlalchemy.orm.configure_mappers()

from neutron.cmd.eventlet.server import main  # noqa: E402

sys.exit(main())
