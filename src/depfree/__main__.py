from depfree.cli.main import main

if __name__ == "__main__":  # not again in the processes a Dask LocalCluster spawns
    main()
