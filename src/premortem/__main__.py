from premortem.cli import run

run()
