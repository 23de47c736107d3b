from disambig.cli import main

main()
