"""Interface text in Chinese and English through one gettext catalogue.

Every string a user reads in the app is written in English in the code and
marked for translation (``_("...")`` in the app, :func:`N_` where the text is
only named, not yet shown). ``pybabel extract`` gathers them into
``geo/locale/wangge.pot``; ``geo/locale/zh/LC_MESSAGES/wangge.po`` holds the
Chinese; ``make catalogues`` (part of ``make setup``) compiles it to
``wangge.mo`` with Babel. A missing or stale ``.mo`` is compiled in memory
from the ``.po`` on first use, so a fresh checkout never shows keys.

English needs no catalogue: the message ids are the English text.
"""

from __future__ import annotations

import gettext
import io
import logging
from functools import lru_cache
from pathlib import Path

logger = logging.getLogger(__name__)

LANGUAGES = {"zh": "中文", "en": "English"}
"""Interface languages: code → the language's own name."""

DOMAIN = "wangge"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Mark ``message`` for extraction without translating it (translate where it is shown)."""
    return message


def catalogue_path(lang: str, *, suffix: str = ".po", locale_dir: Path | None = None) -> Path:
    """Return the path of the ``.po`` (or ``.mo``) catalogue of ``lang``."""
    root = LOCALE_DIR if locale_dir is None else locale_dir
    return root / lang / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def compile_catalogues(locale_dir: Path | None = None) -> list[Path]:
    """Compile every ``.po`` under ``locale_dir`` to its ``.mo`` with Babel; return the files.

    Parameters
    ----------
    locale_dir : Path, optional
        Default: the package's ``geo/locale``.

    Returns
    -------
    list of Path
        The ``.mo`` files written.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = LOCALE_DIR if locale_dir is None else locale_dir
    written = []
    for po in sorted(root.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name, domain=DOMAIN)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as f:
            write_mo(f, catalog)
        written.append(mo)
    return written


@lru_cache(maxsize=8)
def translations(lang: str) -> gettext.NullTranslations:
    """Return the gettext translations of ``lang`` (English and unknown codes: identity)."""
    if lang == "en" or lang not in LANGUAGES:
        return gettext.NullTranslations()
    po = catalogue_path(lang)
    mo = catalogue_path(lang, suffix=".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as f:
            return gettext.GNUTranslations(f)
    if not po.exists():
        logger.warning("No %s catalogue at %s; showing English.", lang, po)
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    logger.info("Compiling %s in memory (run `make catalogues` to compile it once).", po)
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def text(message: str, lang: str = "zh", /, **fields: object) -> str:
    """Return ``message`` in ``lang``, with ``{fields}`` filled in after translation.

    Parameters
    ----------
    message : str
        The English text (the message id).
    lang : str
        A code of :data:`LANGUAGES`.
    **fields
        Values for the ``{name}`` placeholders of the message.
    """
    out = translations(lang).gettext(message)
    return out.format(**fields) if fields else out
