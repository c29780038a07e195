"""python -m koji_adjutant.images build [--name IMAGE] [--force]  (also: koji-adjutant image ...)"""

from __future__ import annotations

import argparse
import os
import sys

from .buildroot import (
    DEFAULT_BUILDROOT_IMAGE,
    MIRROR_ENV,
    SECURITY_MIRROR_ENV,
    ImageBuildError,
    ensure_buildroot_image,
    recipe_digest,
)


def main(argv: list[str] | None = None) -> int:
    called_as_cli = os.path.basename(sys.argv[0]) == "koji-adjutant"
    parser = argparse.ArgumentParser(prog="koji-adjutant image" if called_as_cli else "python -m koji_adjutant.images",
                                     description="Build koji-adjutant's container images.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser(
        "build", help="build the Debian-based buildroot image, or re-use it if its recipe is unchanged")
    build.add_argument("--name", default=DEFAULT_BUILDROOT_IMAGE, help="image name (default: %(default)s)")
    build.add_argument("--force", action="store_true", help="rebuild even if the image is up to date")
    build.add_argument("--mirror", help=f"Debian mirror (default: ${MIRROR_ENV} or deb.debian.org)")
    build.add_argument("--security-mirror", help=f"Debian security mirror (default: ${SECURITY_MIRROR_ENV})")
    commands.add_parser("recipe", help="print the recipe hash of the buildroot image")
    args = parser.parse_args(argv)

    try:
        if args.command == "recipe":
            print(recipe_digest())
            return 0
        if args.mirror:
            os.environ[MIRROR_ENV] = args.mirror
        if args.security_mirror:
            os.environ[SECURITY_MIRROR_ENV] = args.security_mirror
        image_id = ensure_buildroot_image(args.name, force=args.force, log=print)
    except ImageBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(image_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
