"""Solution to 10_capstone: the finished chat.py and main.py are in solutions/capstone/, beside this file.

This script checks them as the lesson checks yours: in a copy of capstone/ (so main.py finds its index.html) with the
two solution files in it. Run from the repository's notebooks/ folder: ``python solutions/10_capstone.py``.
To try the finished app yourself, copy them over your own: ``cp solutions/capstone/*.py capstone/``.
"""

from helpers.exercises import lesson10

solved = lesson10.solution_folder()
lesson10.check_chat(solved)
lesson10.check_app(solved)
