"""Operations: the local launcher behind ``make run``, table setup and seeding, deployment files."""
