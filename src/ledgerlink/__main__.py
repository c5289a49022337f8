"""The `ledgerlink` command: Django's manage.py under the project's name."""

import os
import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "sandbox":
        # The sandboxes are separate programs: dispatch before Django is set up.
        from ledgerlink.sandbox.cli import main as sandbox_main

        sys.exit(sandbox_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "demo":
        # The demo makes and keeps its own secrets (deployment.py); its children inherit the mode.
        os.environ["LEDGERLINK_MODE"] = "demo"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerlink.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.SECRET_KEY  # noqa: B018  (reads the settings now, to report a refusal without a traceback)
    except ImproperlyConfigured as exc:
        sys.exit(f"ledgerlink: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
