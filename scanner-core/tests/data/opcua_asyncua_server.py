"""A real OPC UA server for otscan's interoperability test: the asyncua package's Server,
on the endpoint URL, application URI and application name given as arguments, with
SecurityPolicy None only. Prints "ready" once it listens; runs until killed."""
import asyncio
import sys

from asyncua import Server, ua


async def main(endpoint: str, uri: str, name: str) -> None:
    server = Server()
    await server.init()
    server.set_endpoint(endpoint)
    server.set_server_name(name)
    await server.set_application_uri(uri)
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    async with server:
        print("ready", flush=True)
        while True:
            await asyncio.sleep(1)


asyncio.run(main(*sys.argv[1:4]))
