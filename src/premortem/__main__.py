from premortem.cli import main

main()
