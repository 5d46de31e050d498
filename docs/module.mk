# docs/: the manual (Markdown, read in the tree), the man pages and the example configs that
# make install puts under share/man and share/doc/kxen/examples.
MAN_PAGES += $(wildcard docs/man/*.[158])
EXAMPLES  += docs/examples/hello.cfg
