"""The `ledgerlink` command: Django's manage.py under the project's name."""

import os
import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "sandbox":
        # The sandboxes are separate programs: dispatch before Django is set up.
        from ledgerlink.sandbox.cli import main as sandbox_main

        sys.exit(sandbox_main(sys.argv[2:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerlink.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
