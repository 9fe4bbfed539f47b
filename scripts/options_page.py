"""Write docs/options.md from kgen's run-setting declarations: ``python scripts/options_page.py > docs/options.md``."""

from kgen.run.settings import options_page

print(options_page(), end="")
