from depfree.cli.main import main

main()
