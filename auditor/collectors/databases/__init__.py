"""Database servers: what PostgreSQL and MySQL/MariaDB answer on the network (`wire`), and how they are configured
on the host that runs them (`postgres`, `mysql`, sharing the process and file helpers of `_host`)."""
