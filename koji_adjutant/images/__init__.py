"""Container images koji-adjutant runs tasks in.

:func:`ensure_buildroot_image` builds (or re-uses) the offline, Debian-based buildroot image;
``python -m koji_adjutant.images build`` does the same from the command line.
See docs/buildroot-images.md.
"""

from .buildroot import (
    BUILD_USER,
    DEFAULT_BUILDROOT_IMAGE,
    DEFAULT_IMAGE,
    IMAGE_LABEL,
    RECIPE_LABEL,
    ImageBuildError,
    build_buildroot_image,
    ensure_buildroot_image,
    recipe_digest,
)

__all__ = [
    "BUILD_USER",
    "DEFAULT_BUILDROOT_IMAGE",
    "DEFAULT_IMAGE",
    "IMAGE_LABEL",
    "RECIPE_LABEL",
    "ImageBuildError",
    "build_buildroot_image",
    "ensure_buildroot_image",
    "recipe_digest",
]
