// Usings shared by every test file of Bulkhead.Drivers.Tests.
global using Xunit;
