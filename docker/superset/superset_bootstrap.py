"""`pulse superset init`, the part that runs INSIDE .venv-superset: migrate Superset's metadata database, create
its permissions and built-in roles, and create (or update) the administrator.

One process does what `superset db upgrade`, `superset init` and `superset fab create-admin` do in three, which
saves two start-ups of Superset (about 15 s each). Idempotent: a second run changes nothing but the admin's
password, when the setting changed. The environment comes from `pulse.superset.runtime.superset_env`; the
admin's credentials come in PULSE_SUPERSET_ADMIN_USER / PULSE_SUPERSET_ADMIN_PASSWORD (not argv: `ps` shows argv).

Run: `.venv-superset/bin/python docker/superset/superset_bootstrap.py`
"""

from __future__ import annotations

import logging
import os
import sys
import time


def main() -> int:
    started = time.monotonic()
    username = os.environ["PULSE_SUPERSET_ADMIN_USER"]
    password = os.environ["PULSE_SUPERSET_ADMIN_PASSWORD"]
    logging.basicConfig(level=logging.WARNING)

    from flask_migrate import upgrade
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import appbuilder, db, security_manager

        print("migrating the metadata database", flush=True)
        upgrade()
        print("creating permissions and built-in roles", flush=True)
        appbuilder.add_permissions(update_perms=True)
        security_manager.sync_role_definitions()
        admin_role = security_manager.find_role("Admin")
        user = security_manager.find_user(username=username)
        if user is None:
            created = security_manager.add_user(
                username, "Pulse", "Administrator", f"{username}@pulse.invalid", admin_role, password=password
            )
            if not created:
                print(f"could not create the administrator {username!r}", file=sys.stderr)
                return 1
            print(f"administrator {username!r} created", flush=True)
        else:
            security_manager.reset_password(user.id, password)
            if admin_role not in user.roles:
                user.roles.append(admin_role)
            print(f"administrator {username!r} updated", flush=True)
        db.session.commit()
    print(f"Superset metadata ready in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
