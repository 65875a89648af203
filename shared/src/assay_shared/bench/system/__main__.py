import sys

from assay_shared.bench.system.run import main

sys.exit(main())
