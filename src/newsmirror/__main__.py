from .cli import main

if __name__ == "__main__":  # not again in a process-pool child that re-imports the main module
    main()
