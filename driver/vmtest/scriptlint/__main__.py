"""`python -m vmtest.scriptlint [ROOT]`: the scripts' offline type check and lint."""

from vmtest.scriptlint.lint import main

raise SystemExit(main())
