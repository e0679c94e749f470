from indexguard.cli.main import main

main()
