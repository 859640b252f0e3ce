import os
import sys

# Tests import `app` from the recipe folder, wherever pytest is started.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
